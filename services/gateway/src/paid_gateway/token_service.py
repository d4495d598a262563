"""Serving the token minter over core NATS request-reply (never JetStream: a token is never stored).

Only the gateway's NATS user may subscribe to `paid.github_app.*` (see `paid_contracts.nats_access`),
so a request always reaches the minter; the reply goes to the requester's own inbox, which no other
NATS user may read.
"""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker, NatsMessage
from pydantic import ValidationError

from paid_contracts import InstallationTokenReply, InstallationTokenRequest, InstallationTokenRevoke, subjects
from paid_gateway.token_minter import InstallationTokenMinter, MintError

log = logging.getLogger(__name__)
QUEUE = "gateway-token-minter"


async def mint_reply(
    minter: InstallationTokenMinter | None, request: InstallationTokenRequest
) -> InstallationTokenReply:
    if minter is None:
        return InstallationTokenReply(error="no GitHub App is configured", error_kind="not_configured")
    try:
        minted = await minter.token_for(
            request.installation_id,
            request.repository,
            request.purpose,
            allow_workflows=request.allow_workflows,
        )
    except MintError as error:
        log.warning(
            "no token for %s (installation %d): %s", request.repository, request.installation_id, error
        )
        return InstallationTokenReply(error=str(error), error_kind=error.kind)
    return InstallationTokenReply(
        token=minted.token, expires_at=minted.expires_at, permissions=minted.permissions
    )


async def revoke_reply(
    minter: InstallationTokenMinter | None, request: InstallationTokenRevoke
) -> InstallationTokenReply:
    if minter is None:
        return InstallationTokenReply(error="no GitHub App is configured", error_kind="not_configured")
    try:
        await minter.revoke(request.token)
    except MintError as error:
        return InstallationTokenReply(error=str(error), error_kind=error.kind)
    return InstallationTokenReply()


def register(broker: NatsBroker, minter: InstallationTokenMinter | None) -> None:
    @broker.subscriber(subjects.GITHUB_APP_MINT, queue=QUEUE)
    async def on_mint(message: NatsMessage) -> InstallationTokenReply:
        try:
            request = InstallationTokenRequest.model_validate_json(message.body)
        except ValidationError as error:
            # The error lists fields and types only: pydantic's input echo could hold anything.
            fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors())
            return InstallationTokenReply(
                error=f"invalid token request: {fields}", error_kind="invalid_request"
            )
        return await mint_reply(minter, request)

    @broker.subscriber(subjects.GITHUB_APP_REVOKE, queue=QUEUE)
    async def on_revoke(message: NatsMessage) -> InstallationTokenReply:
        try:
            request = InstallationTokenRevoke.model_validate_json(message.body)
        except ValidationError:
            return InstallationTokenReply(error="invalid revoke request: token", error_kind="invalid_request")
        return await revoke_reply(minter, request)
