"""The minter served over core NATS request-reply; its subjects are captured by no stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from faststream.nats import NatsBroker

from paid_contracts import InstallationTokenReply, InstallationTokenRequest, InstallationTokenRevoke, subjects
from paid_devstack.nats import NatsServer
from paid_gateway import token_service
from paid_gateway.token_minter import InstallationTokenMinter
from paid_github_emulator import GitHubEmulator
from paid_runtime.messaging import make_broker

from .nats_answers import answering
from .test_token_minter import APP_PERMISSIONS


@pytest.fixture
def emulated() -> Iterator[tuple[GitHubEmulator, InstallationTokenMinter, int]]:
    with GitHubEmulator() as emu:
        emu.add_user("octo-org", "ghp_owner")
        emu.create_repository("octo-org", "alpha", {"README.md": "# hi\n"}, private=True)
        app, pem = emu.create_app("octo-org", "Paid", permissions=APP_PERMISSIONS)
        installation = emu.install_app(app.id, "octo-org", ["alpha"])
        minter = InstallationTokenMinter(app.id, pem, api_url=emu.api_url, clock=emu.hub.store.now)
        yield emu, minter, installation.id


@pytest.fixture
async def minter_broker(
    nats_server: NatsServer, emulated: tuple[GitHubEmulator, InstallationTokenMinter, int]
) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_server.url, "gateway")
    token_service.register(broker, emulated[1])
    await broker.start()
    await answering(broker, subjects.GITHUB_APP_MINT, subjects.GITHUB_APP_REVOKE)
    yield broker
    await broker.stop()


async def ask(broker: NatsBroker, subject: str, body: bytes) -> InstallationTokenReply:
    message = await broker.connection.request(subject, body, timeout=10)
    return InstallationTokenReply.model_validate_json(message.data)


async def test_a_token_is_minted_and_revoked_over_nats(
    minter_broker: NatsBroker,
    broker: NatsBroker,
    emulated: tuple[GitHubEmulator, InstallationTokenMinter, int],
) -> None:
    emu, _, installation_id = emulated
    request = InstallationTokenRequest(
        installation_id=installation_id, repository="octo-org/alpha", purpose="run"
    )
    reply = await ask(broker, subjects.GITHUB_APP_MINT, request.model_dump_json().encode())
    assert reply.error == ""
    assert reply.token.startswith("ghs_")
    assert reply.token not in repr(reply)
    headers = {"Authorization": f"token {reply.token}"}
    assert httpx.get(f"{emu.api_url}/repos/octo-org/alpha", headers=headers).status_code == 200
    # The login the token acts as, which GitHub does not tell an installation token (`GET /user`: 403).
    assert reply.login == "paid[bot]"
    assert httpx.get(f"{emu.api_url}/user", headers=headers).status_code == 403
    revoke = InstallationTokenRevoke(token=reply.token).model_dump_json().encode()
    revoked = await ask(broker, subjects.GITHUB_APP_REVOKE, revoke)
    assert revoked.error == ""
    assert httpx.get(f"{emu.api_url}/repos/octo-org/alpha", headers=headers).status_code == 401


async def test_bad_requests_and_refusals_get_a_typed_reply(
    minter_broker: NatsBroker, broker: NatsBroker
) -> None:
    malformed = await ask(broker, subjects.GITHUB_APP_MINT, b'{"repository": "../../etc", "purpose": "root"}')
    assert malformed.error_kind == "invalid_request"
    assert malformed.token == ""
    wrong = InstallationTokenRequest(installation_id=424242, repository="octo-org/alpha", purpose="plan")
    refused = await ask(broker, subjects.GITHUB_APP_MINT, wrong.model_dump_json().encode())
    assert refused.error_kind == "installation_refused"


async def test_without_an_app_the_reply_says_so(nats_server: NatsServer, broker: NatsBroker) -> None:
    unconfigured = make_broker(nats_server.url, "gateway")
    token_service.register(unconfigured, None)
    await unconfigured.start()
    await unconfigured.connection.flush()  # the server has its subscription before the request
    try:
        request = InstallationTokenRequest(installation_id=1, repository="a/b", purpose="run")
        reply = await ask(broker, subjects.GITHUB_APP_MINT, request.model_dump_json().encode())
    finally:
        await unconfigured.stop()
    assert reply.error_kind == "not_configured"


def test_no_stream_could_ever_store_a_token() -> None:
    for subject in (subjects.GITHUB_APP_MINT, subjects.GITHUB_APP_REVOKE):
        for stream in subjects.ALL_STREAMS:
            for pattern in stream.subjects:
                assert not subject.startswith(pattern.removesuffix(">")), (subject, stream.name)
