"""A stand-in for the gateway's token minter in tests that run a service without a gateway: it answers
`paid.github_app.mint_token` over real NATS with one fixed token (or a refusal) and records each request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.aio.msg import Msg

from paid_contracts import InstallationTokenReply, InstallationTokenRequest, subjects
from paid_contracts.github_tokens import MintErrorKind


@dataclass
class FixedTokenMinter:
    token: str
    refusal_kind: MintErrorKind = "app_refused"
    refusal: str = ""  # set it to refuse every request from then on, with this reason
    login: str = ""  # the App's `<slug>[bot]`, as the real minter reads it with `GET /app`
    requests: list[InstallationTokenRequest] = field(default_factory=list)

    async def answer(self, message: Msg) -> None:
        request = InstallationTokenRequest.model_validate_json(message.data)
        self.requests.append(request)
        if self.refusal:
            reply = InstallationTokenReply(error=self.refusal, error_kind=self.refusal_kind)
        else:
            reply = InstallationTokenReply(token=self.token, source="app", login=self.login)
        await message.respond(reply.model_dump_json().encode())


@asynccontextmanager
async def serving(connection: Client, minter: FixedTokenMinter) -> AsyncIterator[FixedTokenMinter]:
    """Serves `minter` on the connection; the subscription reaches the server before this yields."""
    subscription = await connection.subscribe(subjects.GITHUB_APP_MINT, cb=minter.answer)
    await connection.flush()
    try:
        yield minter
    finally:
        await subscription.unsubscribe()
