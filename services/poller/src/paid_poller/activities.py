"""The poller's activities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from paid_poller import repo
from paid_poller.github import HttpFactory, read_recent_issues
from paid_poller.params import PollRepositoryInput, PollResult


@dataclass(frozen=True)
class PollerActivities:
    sessions: async_sessionmaker[AsyncSession]
    http: HttpFactory

    @activity.defn(name="poller.poll_repository")
    async def poll_repository(self, target: PollRepositoryInput) -> PollResult:
        """Reads the repository's issues if they changed since the last poll; counts the changed ones.

        An issue has changed when its `updated_at` differs from the previous read (or it is new).
        Skeleton: it does not publish events yet (turning changes into `paid.github.*` events, like
        the gateway does for webhooks, is the GitHub-integration work). Limits: only the most recently
        updated page (100) is read, so a larger burst between two polls is counted as 100; and
        `updated_at` has one-second resolution, so a second update of an issue within the second of
        the previous read is not seen as a change (its ETag still makes the read a full one).
        """
        full_name = f"{target.owner}/{target.name}"
        async with self.sessions() as session:
            state = await repo.get_poll_state(session, repo=full_name)
        etag = state.etag if state else None
        seen = state.seen if state else {}
        try:
            async with self.http() as client:
                read = await read_recent_issues(client, target.owner, target.name, etag)
        except httpx.TransportError as error:
            raise RuntimeError(f"GitHub unreachable when polling {full_name}: {error!r}") from error
        if read.not_modified:
            changed, now_seen = 0, seen
        else:
            changed = sum(1 for number, updated in read.updated_at.items() if seen.get(number) != updated)
            now_seen = read.updated_at
        async with self.sessions() as session:
            await repo.save_poll_state(
                session,
                repo=full_name,
                etag=read.etag,
                seen=now_seen,
                polled_at=datetime.now(UTC),
            )
        return PollResult(changed_issues=changed, not_modified=read.not_modified)

    def all(self) -> list[Callable[..., Any]]:
        return [self.poll_repository]
