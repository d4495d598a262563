"""A repository's GitHub credential, asked of the token minter (the client side of `paid.github_app.*`).

Every service that acts on a repository asks here rather than holding a token: the gateway's minter
answers over core NATS request-reply with an installation token narrowed to that repository and
purpose, or with the project's own token. The token lives in this process's memory for one job; it is
never put in a stream, a table, a workflow's input or result, a log line or a URL.

`github_credentials="global"` (a service's setting) skips the minter and uses the service's one token,
for deployments without a gateway answering (and the tests that run a service alone). A repository
that is no project, or a project with neither an installation nor a token, gets the global token when
the service has one: the pre-App behaviour.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import httpx
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from pydantic import ValidationError

from paid_contracts import InstallationTokenReply, InstallationTokenRequest
from paid_contracts.github_tokens import CredentialMode, MintErrorKind, TokenPurpose
from paid_runtime.github_trust import GitHubUnavailableError
from paid_runtime.job_credential_cache import JobCredentialCache, JobCredentialKey

if TYPE_CHECKING:
    from paid_runtime.settings import GitHubSettings

log = logging.getLogger(__name__)
"""minter: ask the gateway's token minter per repository; global: the service's own token for all."""
TRANSIENT: frozenset[MintErrorKind | None] = frozenset({"unavailable", None})


class CredentialUnavailable(Exception):
    """No credential for the repository. `permanent`: asking again will not help until a person acts
    (the App uninstalled, its key wrong, the repository not in the installation)."""

    def __init__(self, reason: str, *, kind: MintErrorKind | None, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.permanent = permanent


@dataclass(frozen=True)
class GitHubCredential:
    token: str = field(repr=False)
    source: Literal["app", "project_token", "global"]
    expires_at: datetime | None = None
    login: str = ""
    """The login the token acts as when the minter named it (an App's `<slug>[bot]`); see `acting_login`."""


class GitHubCredentials:
    def __init__(
        self,
        connection: Callable[[], NatsClient],
        *,
        mode: CredentialMode = "minter",
        global_token: str = "",
        timeout: float = 10.0,
        job_cache: JobCredentialCache | None = None,
    ) -> None:
        """`connection`: the service's NATS client, looked up when a request is made (a broker's
        connection exists only once it started). `job_cache`: a job's credentials are kept in it until
        the job is released (`job_tokens.release_job`), rather than asked of the minter at each use."""
        self._connection = connection
        self._mode = mode
        self._global_token = global_token
        self._timeout = timeout
        self._job_cache = job_cache

    @classmethod
    def from_settings(
        cls,
        settings: GitHubSettings,
        connection: Callable[[], NatsClient],
        *,
        job_cache: JobCredentialCache | None = None,
    ) -> GitHubCredentials:
        return cls(
            connection,
            mode=settings.github_credentials,
            global_token=settings.github_token,
            job_cache=job_cache,
        )

    @classmethod
    def fixed(cls, token: str) -> GitHubCredentials:
        """One token for every repository, no minter asked (tools and tests without a gateway)."""

        def no_connection() -> NatsClient:
            raise RuntimeError("fixed GitHub credentials never ask the minter")

        return cls(no_connection, mode="global", global_token=token)

    @property
    def mode(self) -> CredentialMode:
        return self._mode

    def global_credential(self) -> GitHubCredential:
        return GitHubCredential(self._global_token, "global")

    async def for_repository(
        self,
        repository: str,
        purpose: TokenPurpose,
        *,
        job: str | None = None,
        allow_workflows: bool = False,
    ) -> GitHubCredential:
        """`purpose`: run (contents, pull requests, issues write) or plan/trust (read-only). `job`: the
        token is this job's own, revoked by `job_tokens.release_job`; without it, a shared token left to
        expire."""
        if self._mode == "global":
            return self.global_credential()
        if job is not None and self._job_cache is not None:
            key = JobCredentialKey(repository, purpose, allow_workflows, job)
            return await self._job_cache.get(
                key, lambda: self._minted(repository, purpose, job=job, allow_workflows=allow_workflows)
            )
        return await self._minted(repository, purpose, job=job, allow_workflows=allow_workflows)

    def forget_job(self, job: str) -> None:
        """Drops the job's cached credentials (they are being revoked)."""
        if self._job_cache is not None:
            self._job_cache.forget_job(job)

    async def _minted(
        self, repository: str, purpose: TokenPurpose, *, job: str | None, allow_workflows: bool
    ) -> GitHubCredential:
        request = InstallationTokenRequest(
            repository=repository, purpose=purpose, job=job, allow_workflows=allow_workflows
        )
        reply = await self.ask(request.SUBJECT, request.model_dump_json().encode())
        if reply.token:
            return GitHubCredential(reply.token, reply.source or "app", reply.expires_at, reply.login)
        if reply.error_kind == "no_credential" and self._global_token:
            return self.global_credential()
        raise CredentialUnavailable(
            f"no GitHub credential for {repository}: {reply.error or 'the minter gave none'}",
            kind=reply.error_kind,
            permanent=reply.error_kind not in TRANSIENT,
        )

    async def ask(self, subject: str, body: bytes) -> InstallationTokenReply:
        """One request to the minter; CredentialUnavailable (transient) when it does not answer."""
        try:
            message = await self._connection().request(subject, body, timeout=self._timeout)
        except (NatsError, TimeoutError) as error:
            # NoRespondersError (no gateway), a timeout or a lost connection: worth another try.
            raise CredentialUnavailable(
                f"the token minter did not answer ({type(error).__name__})",
                kind="unavailable",
                permanent=False,
            ) from None
        try:
            return InstallationTokenReply.model_validate_json(message.data)
        except ValidationError:
            raise CredentialUnavailable(
                "the token minter's answer was malformed", kind="unavailable", permanent=False
            ) from None


async def acting_login(github: httpx.AsyncClient, credential: GitHubCredential | None = None) -> str:
    """The login `github`'s token acts as (`credential`: that token's, None for a personal token): the
    App's `<slug>[bot]` as the minter named it, since GitHub answers `GET /user` with 403 to an
    installation token; else the user of a personal token, from `GET /user`. GitHubUnavailableError when
    unknown for now (the minter could not read `GET /app`, or GitHub did not answer): decide later."""
    if credential is not None and credential.login:
        return credential.login
    if credential is not None and credential.source == "app":
        raise GitHubUnavailableError("the token minter did not name the login of the App's token")
    try:
        response = await github.get("/user")
    except httpx.HTTPError as error:
        raise GitHubUnavailableError(f"/user: {error!r}") from error
    if response.status_code != 200:
        raise GitHubUnavailableError(f"/user: HTTP {response.status_code}")
    return str(response.json()["login"])
