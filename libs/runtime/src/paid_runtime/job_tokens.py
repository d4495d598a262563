"""Releasing a job's GitHub tokens when it ends (`paid.github_app.release_job`).

A module of its own so that only the services that hold jobs' tokens (the executor's runs) import it,
and so only they are granted the subject (tests/nats_access follows what each service imports).
"""

from __future__ import annotations

import logging

from paid_contracts import InstallationTokensRelease
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredentials

log = logging.getLogger(__name__)


async def release_job(credentials: GitHubCredentials, job: str) -> None:
    """Revokes every token minted for `job`; safe to repeat. A failure is logged, not raised: the
    tokens expire within the hour anyway."""
    credentials.forget_job(job)  # before the revocation: no step of the job may be handed a dying token
    if credentials.mode == "global":
        return
    request = InstallationTokensRelease(job=job)
    try:
        reply = await credentials.ask(request.SUBJECT, request.model_dump_json().encode())
    except CredentialUnavailable as error:
        log.warning("the tokens of %s were not revoked: %s", job, error.reason)
        return
    if reply.error:
        log.warning("the tokens of %s were not all revoked: %s", job, reply.error)
