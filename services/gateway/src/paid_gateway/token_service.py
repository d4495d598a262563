"""Serving the token minter over core NATS request-reply (never JetStream: a token is never stored).

Only the gateway's NATS user may subscribe to `paid.github_app.*` (see `paid_contracts.nats_access`),
so a request always reaches the minter; the reply goes to the requester's own inbox, which no other
NATS user may read.

A request without an installation id asks for the repository's project credential: a token minted
from the project's installation, or the project's own token; `no_credential` when it has neither.
"""

from __future__ import annotations

import logging
from typing import Protocol

from faststream.nats import NatsBroker, NatsMessage
from pydantic import ValidationError

from paid_contracts import (
    InstallationTokenReply,
    InstallationTokenRequest,
    InstallationTokenRevoke,
    InstallationTokensRelease,
    subjects,
)
from paid_contracts.github_tokens import TokenPurpose
from paid_gateway.config import GatewaySettings
from paid_gateway.project_registry import ProjectView
from paid_gateway.token_minter import InstallationTokenMinter, MintError, UnusableApp

log = logging.getLogger(__name__)
QUEUE = "gateway-token-minter"
NOT_CONFIGURED = InstallationTokenReply(error="no GitHub App is configured", error_kind="not_configured")


def minter_from_settings(settings: GatewaySettings) -> InstallationTokenMinter | None:
    if not settings.github_app_id and not settings.github_app_private_key:
        return None
    try:
        return InstallationTokenMinter(
            settings.github_app_id, settings.github_app_private_key, api_url=settings.github_api_url
        )
    except MintError as error:
        # Serving on, so that every token request (and each project) gets this reason instead of silence.
        log.error("GitHub App not usable: %s", error)
        return UnusableApp(f"the GitHub App is not usable: {error}")


class ProjectLookup(Protocol):
    async def get(self, repository: str) -> ProjectView | None: ...


class Attention(Protocol):
    async def refused(self, repository: str, reason: str) -> None: ...

    async def minted(self, repository: str, current: str | None) -> None: ...


PERSON_MUST_ACT = ("not_configured", "app_refused", "installation_refused")


async def project_token(
    minter: InstallationTokenMinter | None, projects: ProjectLookup, repository: str, purpose: TokenPurpose
) -> str | None:
    """The gateway's own use of a project's credential (trust checks and their comments): its App
    token or its own token; None for the global token (no project, or neither); a refusal raises."""
    request = InstallationTokenRequest(repository=repository, purpose=purpose)
    reply = await mint_reply(minter, request, projects)
    if reply.token:
        return reply.token
    if reply.error_kind == "no_credential":
        return None
    raise MintError(reply.error)


async def mint_reply(
    minter: InstallationTokenMinter | None,
    request: InstallationTokenRequest,
    projects: ProjectLookup | None = None,
    attention: Attention | None = None,
) -> InstallationTokenReply:
    installation_id = request.installation_id
    project: ProjectView | None = None
    if installation_id is None:
        project = await projects.get(request.repository) if projects is not None else None
        if project is None:
            return _no_credential(f"{request.repository} is not a registered project")
        if project.installation_id is None:
            if project.token:
                return InstallationTokenReply(token=project.token, source="project_token")
            return _no_credential(f"{request.repository} has neither an App installation nor a token")
        if project.app_state in ("uninstalled", "suspended"):
            return InstallationTokenReply(
                error=f"the GitHub App is {project.app_state} on {request.repository}",
                error_kind="installation_refused",
            )
        installation_id = project.installation_id
    reply = await _minted(minter, request, installation_id)
    if project is not None and attention is not None:
        await _note(attention, request.repository, project, reply)
    return reply


async def _minted(
    minter: InstallationTokenMinter | None, request: InstallationTokenRequest, installation_id: int
) -> InstallationTokenReply:
    if minter is None:
        return NOT_CONFIGURED
    try:
        minted = await minter.token_for(
            installation_id,
            request.repository,
            request.purpose,
            allow_workflows=request.allow_workflows,
            job=request.job,
        )
    except MintError as error:
        log.warning("no token for %s (installation %d): %s", request.repository, installation_id, error)
        return InstallationTokenReply(error=str(error), error_kind=error.kind)
    try:
        login = await minter.app_login()
    except MintError as error:
        # The token still serves; only a caller that must know Paid's own login waits for it.
        log.warning("the App's login is unknown for now: %s", error)
        login = ""
    return InstallationTokenReply(
        token=minted.token,
        expires_at=minted.expires_at,
        permissions=minted.permissions,
        source="app",
        login=login,
    )


async def _note(
    attention: Attention, repository: str, project: ProjectView, reply: InstallationTokenReply
) -> None:
    """The project shows why its credential is refused (or no longer is); never fails the reply."""
    try:
        if reply.token:
            await attention.minted(repository, project.attention_reason)
        elif reply.error_kind in PERSON_MUST_ACT:
            await attention.refused(repository, reply.error)
    except Exception:
        log.exception("%s: could not record why its credential was refused", repository)


def _no_credential(reason: str) -> InstallationTokenReply:
    return InstallationTokenReply(error=reason, error_kind="no_credential")


async def revoke_reply(
    minter: InstallationTokenMinter | None, request: InstallationTokenRevoke
) -> InstallationTokenReply:
    if minter is None:
        return NOT_CONFIGURED
    try:
        await minter.revoke(request.token)
    except MintError as error:
        return InstallationTokenReply(error=str(error), error_kind=error.kind)
    return InstallationTokenReply()


async def release_reply(
    minter: InstallationTokenMinter | None, request: InstallationTokensRelease
) -> InstallationTokenReply:
    if minter is None:
        return InstallationTokenReply()  # nothing was minted, so nothing is left to revoke
    try:
        revoked = await minter.release_job(request.job)
    except MintError as error:
        log.warning("revoking the tokens of job %s failed: %s", request.job, error)
        return InstallationTokenReply(error=str(error), error_kind=error.kind)
    log.info("revoked %d token(s) of job %s", revoked, request.job)
    return InstallationTokenReply()


def _invalid(error: ValidationError, what: str) -> InstallationTokenReply:
    # The error lists fields only: pydantic's input echo could hold anything, a token included.
    fields = ", ".join(".".join(map(str, e["loc"])) for e in error.errors())
    return InstallationTokenReply(error=f"invalid {what}: {fields}", error_kind="invalid_request")


def register(
    broker: NatsBroker,
    minter: InstallationTokenMinter | None,
    projects: ProjectLookup | None = None,
    attention: Attention | None = None,
) -> None:
    @broker.subscriber(subjects.GITHUB_APP_MINT, queue=QUEUE)
    async def on_mint(message: NatsMessage) -> InstallationTokenReply:
        try:
            request = InstallationTokenRequest.model_validate_json(message.body)
        except ValidationError as error:
            return _invalid(error, "token request")
        return await mint_reply(minter, request, projects, attention)

    @broker.subscriber(subjects.GITHUB_APP_REVOKE, queue=QUEUE)
    async def on_revoke(message: NatsMessage) -> InstallationTokenReply:
        try:
            request = InstallationTokenRevoke.model_validate_json(message.body)
        except ValidationError:
            return InstallationTokenReply(error="invalid revoke request: token", error_kind="invalid_request")
        return await revoke_reply(minter, request)

    # No queue group: every gateway instance revokes what it minted for the job; the first reply wins.
    @broker.subscriber(subjects.GITHUB_APP_RELEASE_JOB)
    async def on_release(message: NatsMessage) -> InstallationTokenReply:
        try:
            request = InstallationTokensRelease.model_validate_json(message.body)
        except ValidationError as error:
            return _invalid(error, "release request")
        return await release_reply(minter, request)
