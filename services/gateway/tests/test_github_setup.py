"""`paid github setup`'s manifest flow against the emulator: page, GitHub's redirect, exchange, storage."""

from __future__ import annotations

import html
import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paid_cli.github_setup import ManifestFlow, load_encrypted, store_encrypted
from paid_gateway.token_minter import InstallationTokenMinter
from paid_github_emulator import GitHubEmulator
from paid_runtime.secretbox import SecretBox, generate_key


@pytest.fixture
def emu() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as found:
        found.add_user("octo-org", "ghp_owner")
        found.sign_in("octo-org")
        yield found


@pytest.fixture
def flow(emu: GitHubEmulator) -> Iterator[ManifestFlow]:
    found = ManifestFlow(emu.base_url, emu.api_url, name="Paid Setup", webhook_url=None)
    yield found
    found.close()


def post_the_form(flow: ManifestFlow) -> httpx.Response:
    """What the browser does with the page: post its form to GitHub (the emulator)."""
    page = httpx.get(flow.url).text
    action = html.unescape(re.search(r'action="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    manifest = html.unescape(re.search(r'name="manifest" value="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    return httpx.post(action, data={"manifest": manifest})


def conversions(emu: GitHubEmulator) -> int:
    return sum(1 for r in emu.access_log() if r.path.endswith("/conversions"))


def test_the_manifest_flow_creates_a_poll_only_app_and_stores_it_encrypted(
    emu: GitHubEmulator, flow: ManifestFlow, tmp_path: Path
) -> None:
    assert flow.manifest["hook_attributes"]["active"] is False
    redirected = post_the_form(flow)
    assert redirected.status_code == 302
    answered = httpx.get(redirected.headers["location"])
    assert answered.status_code == 200
    credentials = flow.wait(10)
    assert credentials.slug == "paid-setup"
    assert credentials.pem not in repr(credentials)

    box = SecretBox([generate_key()])
    path = tmp_path / "github-app.json"
    store_encrypted(credentials, path, box)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = path.read_text()
    assert credentials.pem not in stored
    assert "PRIVATE KEY" not in stored
    assert credentials.webhook_secret not in stored
    assert json.loads(stored)["app_id"] == credentials.app_id
    assert load_encrypted(path, box) == credentials
    InstallationTokenMinter(credentials.app_id, load_encrypted(path, box).pem, api_url=emu.api_url)


def test_an_answer_with_another_state_is_refused_without_an_exchange(
    emu: GitHubEmulator, flow: ManifestFlow
) -> None:
    redirected = post_the_form(flow)
    location = redirected.headers["location"]
    forged = location.replace(f"state={flow.state}", "state=forged-by-someone-else")
    assert httpx.get(forged).status_code == 400
    assert httpx.get(location.split("&state=")[0]).status_code == 400  # no state at all
    assert conversions(emu) == 0
    assert httpx.get(location).status_code == 200  # the real answer still works, once
    assert flow.wait(10).app_id > 0
    assert conversions(emu) == 1


def test_the_command_needs_the_gateways_keys_to_store_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from paid_cli.main import app

    monkeypatch.delenv("PAID_GATEWAY_SECRETS_KEYS", raising=False)
    result = CliRunner().invoke(app, ["github", "setup", "--timeout", "1"])
    assert result.exit_code != 0
    assert "PAID_GATEWAY_SECRETS_KEYS" in result.output


def test_export_decrypts_the_app_for_the_gateway_only_with_the_gateways_keys(
    emu: GitHubEmulator, flow: ManifestFlow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from paid_cli.main import app

    httpx.get(post_the_form(flow).headers["location"])
    credentials = flow.wait(10)
    key = generate_key()
    stored = tmp_path / "github-app.json"
    store_encrypted(credentials, stored, SecretBox([key]))
    exported = tmp_path / "for-the-gateway"

    monkeypatch.setenv("PAID_GATEWAY_SECRETS_KEYS", generate_key())
    refused = CliRunner().invoke(app, ["github", "export", str(exported), "--input", str(stored)])
    assert refused.exit_code != 0
    assert "cannot read the App" in refused.output
    assert not exported.exists()

    monkeypatch.setenv("PAID_GATEWAY_SECRETS_KEYS", key)
    result = CliRunner().invoke(app, ["github", "export", str(exported), "--input", str(stored)])
    assert result.exit_code == 0, result.output
    assert credentials.pem not in result.output
    assert (exported / "private-key.pem").read_text() == credentials.pem
    assert (exported / "app-id").read_text() == str(credentials.app_id)
    assert (exported / "webhook-secret").read_text() == credentials.webhook_secret
    assert stat.S_IMODE(exported.stat().st_mode) == 0o700
    assert {stat.S_IMODE(path.stat().st_mode) for path in exported.iterdir()} == {0o600}
    InstallationTokenMinter(
        credentials.app_id, (exported / "private-key.pem").read_text(), api_url=emu.api_url
    )
    again = CliRunner().invoke(app, ["github", "export", str(exported), "--input", str(stored)])
    assert again.exit_code != 0, "an existing directory is never overwritten"
