"""The token minter against the GitHub emulator: narrowed, cached, re-minted, revoked, bounded on failure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from paid_gateway.token_minter import (
    AppNotConfigured,
    AppRefused,
    InstallationRefused,
    InstallationTokenMinter,
)
from paid_github_emulator import GitHubEmulator
from paid_github_emulator.app_ops import new_key_pair

APP_PERMISSIONS = {"contents": "write", "pull_requests": "write", "issues": "write", "workflows": "write"}


@dataclass
class Setup:
    emu: GitHubEmulator
    app_id: int
    pem: str
    installation_id: int

    def minter(self, app_id: int | str | None = None, pem: str | None = None) -> InstallationTokenMinter:
        return InstallationTokenMinter(
            self.app_id if app_id is None else app_id,
            self.pem if pem is None else pem,
            api_url=self.emu.api_url,
            clock=self.emu.hub.store.now,
        )

    def mint_requests(self) -> int:
        return sum(
            1 for r in self.emu.access_log() if r.method == "POST" and r.path.endswith("/access_tokens")
        )

    def get(self, path: str, token: str) -> httpx.Response:
        return httpx.get(f"{self.emu.api_url}{path}", headers={"Authorization": f"token {token}"})


@pytest.fixture
def setup() -> Iterator[Setup]:
    with GitHubEmulator() as emu:
        emu.add_user("octo-org", "ghp_owner")
        for name in ("alpha", "beta"):
            emu.create_repository("octo-org", name, {"README.md": "# hi\n"}, private=True)
        app, pem = emu.create_app("octo-org", "Paid", permissions=APP_PERMISSIONS)
        installation = emu.install_app(app.id, "octo-org", None)
        yield Setup(emu, app.id, pem, installation.id)


async def test_a_run_token_works_on_its_repository_only(setup: Setup) -> None:
    minted = await setup.minter().token_for(setup.installation_id, "octo-org/alpha", "run")
    assert minted.permissions == {
        "contents": "write",
        "pull_requests": "write",
        "issues": "write",
        "metadata": "read",
    }
    assert "token" not in repr(minted).replace("MintedToken", "")
    assert setup.get("/repos/octo-org/alpha", minted.token).status_code == 200
    assert setup.get("/repos/octo-org/beta", minted.token).status_code == 404


async def test_planning_tokens_are_read_only_and_workflows_need_the_project(setup: Setup) -> None:
    minter = setup.minter()
    plan = await minter.token_for(setup.installation_id, "octo-org/alpha", "plan")
    assert set(plan.permissions.values()) == {"read"}
    created = httpx.post(
        f"{setup.emu.api_url}/repos/octo-org/alpha/issues",
        json={"title": "x"},
        headers={"Authorization": f"token {plan.token}"},
    )
    assert created.status_code == 403
    allowed = await minter.token_for(setup.installation_id, "octo-org/alpha", "run", allow_workflows=True)
    assert allowed.permissions["workflows"] == "write"


async def test_a_token_is_reused_until_near_expiry_then_minted_again(setup: Setup) -> None:
    minter = setup.minter()
    first = await minter.token_for(setup.installation_id, "octo-org/alpha", "run")
    again = await minter.token_for(setup.installation_id, "octo-org/alpha", "run")
    assert again.token == first.token
    assert setup.mint_requests() == 1
    setup.emu.advance_clock(56 * 60)  # within the 5 minute refresh margin of the 1 h lifetime
    renewed = await minter.token_for(setup.installation_id, "octo-org/alpha", "run")
    assert renewed.token != first.token
    assert setup.mint_requests() == 2
    assert setup.get("/repos/octo-org/alpha", renewed.token).status_code == 200


async def test_a_revoked_token_is_dead_and_forgotten(setup: Setup) -> None:
    minter = setup.minter()
    minted = await minter.token_for(setup.installation_id, "octo-org/alpha", "run")
    await minter.revoke(minted.token)
    assert setup.get("/repos/octo-org/alpha", minted.token).status_code == 401
    assert any(
        r.method == "DELETE" and r.path.endswith("/installation/token") for r in setup.emu.access_log()
    )
    fresh = await minter.token_for(setup.installation_id, "octo-org/alpha", "run")
    assert fresh.token != minted.token
    await minter.revoke(minted.token)  # revoking twice is harmless


def test_a_malformed_pem_is_a_clear_error_before_any_request(setup: Setup) -> None:
    for bad in ("", "not a key", setup.pem.replace("MII", "XXX", 1)):
        with pytest.raises(AppNotConfigured, match="private key") as raised:
            setup.minter(pem=bad)
        assert "BEGIN" not in str(raised.value)  # the key is never echoed
    assert setup.emu.access_log() == []


async def test_a_wrong_app_id_is_refused_with_a_bounded_number_of_requests(setup: Setup) -> None:
    minter = setup.minter(app_id=setup.app_id + 999)
    for _ in range(5):
        with pytest.raises(AppRefused, match="App id"):
            await minter.token_for(setup.installation_id, "octo-org/alpha", "run")
    assert setup.mint_requests() == 1
    setup.emu.advance_clock(61)  # past the failure backoff: one more attempt, no more
    with pytest.raises(AppRefused):
        await minter.token_for(setup.installation_id, "octo-org/alpha", "run")
    assert setup.mint_requests() == 2


async def test_a_key_that_is_not_the_apps_is_refused(setup: Setup) -> None:
    other, _ = new_key_pair()
    with pytest.raises(AppRefused):
        await setup.minter(pem=other).token_for(setup.installation_id, "octo-org/alpha", "run")


async def test_an_uninstalled_app_gets_a_typed_refusal(setup: Setup) -> None:
    minter = setup.minter()
    setup.emu.uninstall_app(setup.installation_id, as_user="octo-org")
    with pytest.raises(InstallationRefused, match="uninstalled"):
        await minter.token_for(setup.installation_id, "octo-org/alpha", "run")
    with pytest.raises(InstallationRefused):
        await minter.token_for(setup.installation_id, "octo-org/alpha", "trust")
    assert setup.mint_requests() == 1


async def test_the_apps_login_comes_from_get_app_once_an_hour(setup: Setup) -> None:
    """An installation token acts as `<slug>[bot]` and GitHub refuses it `GET /user`: the login is read
    with the App's JWT, and kept."""
    minter = setup.minter()
    minted = await minter.token_for(setup.installation_id, "octo-org/alpha", "run")
    assert setup.get("/user", minted.token).status_code == 403
    assert [await minter.app_login() for _ in range(3)] == ["paid[bot]"] * 3
    app_reads = [r for r in setup.emu.access_log() if r.method == "GET" and r.path.endswith("/app")]
    assert len(app_reads) == 1
    setup.emu.advance_clock(61 * 60)
    assert await minter.app_login() == "paid[bot]"
    assert sum(1 for r in setup.emu.access_log() if r.method == "GET" and r.path.endswith("/app")) == 2


async def test_a_wrong_app_id_learns_no_login_and_asks_a_bounded_number_of_times(setup: Setup) -> None:
    minter = setup.minter(app_id=setup.app_id + 999)
    for _ in range(5):
        with pytest.raises(AppRefused, match="App id"):
            await minter.app_login()
    assert sum(1 for r in setup.emu.access_log() if r.path.endswith("/app")) == 1
