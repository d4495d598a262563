"""A job's GitHub credentials, kept in this process's memory for the life of the job.

A run asks for its token at each GitHub step (the issue, the worktree, each push, comments, the PR):
about eight requests to the minter a run. The minter keeps the token anyway, so asking again buys
nothing but a NATS round trip and the gateway's work. This cache answers the same credential for the
same request until shortly before it expires, and forgets a job's credentials when the job is released
(`job_tokens.release_job`, which revokes them).

Trust boundary: a credential is handed back only for exactly the request it was minted for: the same
repository (as spelled), purpose, workflow permission and job. A run never gets another run's token
(whose release would revoke it under it), another repository's, or one narrower than it asked for or
wider. The cache is a dict in this process: nothing is written to a stream, a table, a log or a sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from paid_contracts.github_tokens import TokenPurpose

if TYPE_CHECKING:
    from paid_runtime.github_credentials import GitHubCredential

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobCredentialKey:
    repository: str
    purpose: TokenPurpose
    allow_workflows: bool
    job: str


@dataclass(frozen=True)
class _Held:
    credential: GitHubCredential
    fresh_until: datetime


class JobCredentialCache:
    def __init__(
        self,
        *,
        clock: Clock = utc_now,
        refresh_margin: timedelta = timedelta(minutes=5),
        max_age: timedelta = timedelta(minutes=10),
    ) -> None:
        """`refresh_margin`: a token is asked for again this long before it expires (the minter's own
        margin, so the minter then mints a new one). `max_age`: a credential is asked for again after
        this long even if it lasts longer, so that what changed at the minter (a project's replaced
        token, an uninstalled App that GitHub no longer honours) reaches a long run within minutes."""
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._max_age = max_age
        self._held: dict[JobCredentialKey, _Held] = {}
        self._minting: dict[JobCredentialKey, asyncio.Lock] = {}
        self._inserts = 0

    async def get(
        self, key: JobCredentialKey, mint: Callable[[], Awaitable[GitHubCredential]]
    ) -> GitHubCredential:
        """The held credential for `key` while it is fresh, else `mint()`'s (one mint at a time per key:
        a job's concurrent steps share it). A failure is raised and nothing is kept."""
        held = self._fresh(key)
        if held is not None:
            return held
        lock = self._minting.setdefault(key, asyncio.Lock())
        async with lock:
            held = self._fresh(key)
            if held is not None:
                return held
            credential = await mint()
            self._keep(key, credential)
            return credential

    def forget_job(self, job: str) -> None:
        """Drops every credential of `job` (its tokens are being revoked)."""
        for key in [key for key in self._held if key.job == job]:
            del self._held[key]
        for key in [key for key in self._minting if key.job == job]:
            del self._minting[key]

    def __len__(self) -> int:
        return len(self._held)

    def _fresh(self, key: JobCredentialKey) -> GitHubCredential | None:
        held = self._held.get(key)
        if held is None or held.fresh_until <= self._clock():
            return None
        return held.credential

    def _keep(self, key: JobCredentialKey, credential: GitHubCredential) -> None:
        now = self._clock()
        fresh_until = now + self._max_age
        if credential.expires_at is not None:
            expires_at = credential.expires_at
            if expires_at.tzinfo is None:  # GitHub's times are UTC
                expires_at = expires_at.replace(tzinfo=UTC)
            fresh_until = min(fresh_until, expires_at - self._refresh_margin)
        if fresh_until <= now:
            self._held.pop(key, None)
            return
        self._held[key] = _Held(credential, fresh_until)
        self._inserts += 1
        if self._inserts % 256 == 0:
            self._drop_stale(now)

    def _drop_stale(self, now: datetime) -> None:
        """A job that was never released (its worker died mid-run) leaves its entries; they go once stale."""
        for key in [key for key, held in self._held.items() if held.fresh_until <= now]:
            del self._held[key]
        idle = [key for key, lock in self._minting.items() if key not in self._held and not lock.locked()]
        for key in idle:
            del self._minting[key]
