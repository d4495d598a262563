"""The one holder of the GitHub App's private key: installation tokens narrowed to one repository.

Tokens are minted through githubkit's App strategy (a JWT signed with the key, then
`POST /app/installations/{id}/access_tokens` with `repositories` and `permissions`), kept in memory
only until shortly before they expire, and revoked with `DELETE /installation/token` when a job ends.
A refusal (wrong App id or key, installation gone or suspended) is remembered for `failure_backoff`,
so a caller retrying in a loop costs GitHub one request per backoff, not one per call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import httpx
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from githubkit import AppAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.cache import MemCacheStrategy
from githubkit.exception import GitHubException, RequestFailed
from githubkit_schemas.latest.types import AppPermissionsType

from paid_contracts.github_tokens import MintErrorKind, TokenPurpose

Clock = Callable[[], datetime]
READ_ONLY = {"contents": "read", "pull_requests": "read", "issues": "read", "metadata": "read"}
PERMISSIONS: dict[str, dict[str, str]] = {
    "run": {"contents": "write", "pull_requests": "write", "issues": "write", "metadata": "read"},
    "plan": READ_ONLY,
    "trust": READ_ONLY,
    "issues": READ_ONLY | {"issues": "write"},
}
APP_REFUSED = "GitHub refused the App's credentials: check the App id and private key"


class MintError(Exception):
    kind: MintErrorKind = "unavailable"


class AppNotConfigured(MintError):
    """The App id or private key is missing or malformed: no request is made at all."""

    kind: MintErrorKind = "not_configured"


class AppRefused(MintError):
    """GitHub refused the App's JWT: a wrong App id, or a key that is not the App's."""

    kind: MintErrorKind = "app_refused"


class InstallationRefused(MintError):
    """The installation is gone or suspended, or the repository is not part of it."""

    kind: MintErrorKind = "installation_refused"


@dataclass(frozen=True)
class MintedToken:
    token: str = field(repr=False)
    expires_at: datetime
    repository: str
    permissions: dict[str, str]


def permissions_for(purpose: TokenPurpose, *, allow_workflows: bool) -> dict[str, str]:
    wanted = dict(PERMISSIONS[purpose])
    if allow_workflows and purpose == "run":
        wanted["workflows"] = "write"
    return wanted


def load_app_key(private_key: str) -> str:
    """The PEM if it is an RSA private key, else AppNotConfigured (the key itself is never echoed)."""
    try:
        key = load_pem_private_key(private_key.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise AppNotConfigured("the GitHub App private key is not a PEM-encoded private key") from exc
    if not isinstance(key, RSAPrivateKey):
        raise AppNotConfigured("the GitHub App private key is not an RSA key (GitHub signs with RS256)")
    return private_key


def utc_now() -> datetime:
    return datetime.now(UTC)


class InstallationTokenMinter:
    def __init__(
        self,
        app_id: int | str,
        private_key: str,
        *,
        api_url: str = "https://api.github.com",
        clock: Clock = utc_now,
        refresh_margin: timedelta = timedelta(minutes=5),
        failure_backoff: timedelta = timedelta(minutes=1),
        timeout: float = 10.0,
    ) -> None:
        if not str(app_id).strip():
            raise AppNotConfigured("no GitHub App id is configured")
        self._api_url = api_url.rstrip("/") + "/"
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._failure_backoff = failure_backoff
        self._timeout = timeout
        # No retries and no HTTP cache: every attempt is one request that the caller can count on.
        self._github = GitHub(
            AppAuthStrategy(str(app_id), load_app_key(private_key)),
            base_url=self._api_url,
            cache_strategy=MemCacheStrategy(),
            http_cache=False,
            auto_retry=False,
            timeout=timeout,
        )
        self._cache: dict[tuple[int, str, str, bool, str | None], MintedToken] = {}
        self._job_tokens: dict[str, list[str]] = {}  # every token a job had, for its release
        self._failures: dict[int, tuple[datetime, MintError]] = {}
        self._login: tuple[datetime, str] | None = None  # (when to ask again, `<slug>[bot]`)
        self._login_failure: tuple[datetime, MintError] | None = None
        self._login_ttl = timedelta(hours=1)  # a renamed App gets a new slug, hence a new login
        self._lock = asyncio.Lock()

    async def token_for(
        self,
        installation_id: int,
        repository: str,
        purpose: TokenPurpose,
        *,
        allow_workflows: bool = False,
        job: str | None = None,
    ) -> MintedToken:
        """A token for `repository` only, with `purpose`'s permissions; the cached one while it is fresh.
        With a `job`, the token is that job's alone (a run's), and `release_job` revokes it."""
        key = (installation_id, repository.lower(), purpose, allow_workflows, job)
        async with self._lock:
            now = self._clock()
            cached = self._cache.get(key)
            if cached is not None and cached.expires_at - self._refresh_margin > now:
                return cached
            failed = self._failures.get(installation_id)
            if failed is not None and failed[0] > now:
                raise failed[1]
            try:
                minted = await self._mint(
                    installation_id, repository, permissions_for(purpose, allow_workflows=allow_workflows)
                )
            except MintError as error:
                self._failures[installation_id] = (now + self._failure_backoff, error)
                raise
            self._failures.pop(installation_id, None)
            self._cache[key] = minted
            if job is not None:
                self._job_tokens.setdefault(job, []).append(minted.token)
            return minted

    async def app_login(self) -> str:
        """The login the App's installation tokens act as, `<slug>[bot]`, from `GET /app` with the App's
        JWT (GitHub refuses `GET /user` to an installation token). Cached for an hour; a failure is
        remembered for `failure_backoff`, as a refused mint is."""
        async with self._lock:
            now = self._clock()
            if self._login is not None and self._login[0] > now:
                return self._login[1]
            if self._login_failure is not None and self._login_failure[0] > now:
                raise self._login_failure[1]
            try:
                login = await self._read_app_login()
            except MintError as error:
                self._login_failure = (now + self._failure_backoff, error)
                raise
            self._login, self._login_failure = (now + self._login_ttl, login), None
            return login

    async def _read_app_login(self) -> str:
        try:
            response = await self._github.rest.apps.async_get_authenticated()
        except RequestFailed as failed:
            status = failed.response.status_code
            if status == 401:
                raise AppRefused(APP_REFUSED) from None
            raise MintError(f"GitHub answered {status} to GET /app") from None
        except (GitHubException, httpx.HTTPError) as exc:
            raise MintError(f"GitHub is unreachable: {type(exc).__name__}") from None
        app = response.parsed_data
        slug = app.slug if app is not None else None
        if not isinstance(slug, str) or not slug:
            raise MintError("GitHub's answer to GET /app names no slug")
        return f"{slug}[bot]"

    async def release_job(self, job: str) -> int:
        """Revokes every token minted here for `job` (a re-minted one too); how many it revoked."""
        async with self._lock:
            tokens = self._job_tokens.pop(job, [])
        failure: MintError | None = None
        for token in tokens:
            try:
                await self.revoke(token)
            except MintError as error:  # the others are still revoked; this one expires within the hour
                failure = error
        if failure is not None:
            raise failure
        return len(tokens)

    async def revoke(self, token: str) -> None:
        """Revoke on GitHub (`DELETE /installation/token`) and forget it; an already dead token is fine."""
        async with self._lock:
            for key in [k for k, cached in self._cache.items() if cached.token == token]:
                del self._cache[key]
        client = GitHub(
            TokenAuthStrategy(token),
            base_url=self._api_url,
            http_cache=False,
            auto_retry=False,
            timeout=self._timeout,
        )
        try:
            await client.rest.apps.async_revoke_installation_access_token()
        except RequestFailed as failed:
            if failed.response.status_code != 401:
                raise MintError(f"GitHub answered {failed.response.status_code} to the revocation") from None
        except (GitHubException, httpx.HTTPError) as exc:
            raise MintError(f"GitHub is unreachable: {type(exc).__name__}") from None

    async def _mint(self, installation_id: int, repository: str, permissions: dict[str, str]) -> MintedToken:
        name = repository.split("/", 1)[-1]
        try:
            response = await self._github.rest.apps.async_create_installation_access_token(
                installation_id, repositories=[name], permissions=cast(AppPermissionsType, permissions)
            )
        except RequestFailed as failed:
            status = failed.response.status_code
            if status == 401:
                raise AppRefused(APP_REFUSED) from None
            if status in (403, 404, 422):
                raise InstallationRefused(
                    f"installation {installation_id} cannot have a token for {repository} ({status}): "
                    "the App was uninstalled, suspended or not given this repository"
                ) from None
            raise MintError(f"GitHub answered {status} to the token request") from None
        except (GitHubException, httpx.HTTPError) as exc:
            raise MintError(f"GitHub is unreachable: {type(exc).__name__}") from None
        body = response.parsed_data
        granted = response.json().get("permissions") or {}
        expires_at = datetime.fromisoformat(body.expires_at.replace("Z", "+00:00"))
        return MintedToken(body.token, expires_at, repository, {k: str(v) for k, v in granted.items()})


class UnusableApp(InstallationTokenMinter):
    """An App whose settings cannot work (a malformed key, no id): every request is refused with the
    reason found at start-up, without a request to GitHub, so each project shows why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def token_for(
        self,
        installation_id: int,
        repository: str,
        purpose: TokenPurpose,
        *,
        allow_workflows: bool = False,
        job: str | None = None,
    ) -> MintedToken:
        raise AppNotConfigured(self.reason)

    async def app_login(self) -> str:
        raise AppNotConfigured(self.reason)

    async def release_job(self, job: str) -> int:
        return 0  # nothing was minted

    async def revoke(self, token: str) -> None:
        raise AppNotConfigured(self.reason)
