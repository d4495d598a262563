"""A project needs a person when the minter cannot get its credential: the App uninstalled or
suspended, its key or id wrong, the repository not in the installation. The reason is stored on the
project (shown in the API as `needs_attention`) and announced like any other project change; a later
successful mint clears a reason the minter set, never one an installation event set.

A new reason is also announced as `ProjectNeedsAttention` (its own subject, for the notifier), with an
id from the project's version, so a retried announcement is one notification."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import Correlation, Event, ProjectNeedsAttention
from paid_contracts.projects import attention_event_id
from paid_gateway import project_registry, projects_repo
from paid_gateway.models import Project
from paid_gateway.project_registry import ProjectCache

log = logging.getLogger(__name__)
MINTER_REASON = "GitHub refused a token: "


def needs_attention(project: Project, before: str | None) -> ProjectNeedsAttention | None:
    """The announcement of a reason the project did not show `before` (None when none is new)."""
    reason = project.attention_reason
    if reason is None or reason == before:
        return None
    full_name = f"{project.owner}/{project.name}"
    return ProjectNeedsAttention(
        event_id=attention_event_id(full_name, project.version),
        producer=project_registry.PRODUCER,
        correlation=Correlation(project=full_name, repo=full_name),
        project=full_name,
        version=project.version,
        reason=reason,
        app_state=project.app_state,
    )


class ProjectAttention:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        announce: Callable[[Event], Awaitable[object]],
        cache: ProjectCache,
    ) -> None:
        self._sessions = sessions
        self._announce = announce
        self._cache = cache

    async def refused(self, repository: str, reason: str) -> None:
        await self._set(repository, MINTER_REASON + reason)

    async def minted(self, repository: str, current: str | None) -> None:
        """`current`: the reason the project showed (cached); cleared only if the minter set it."""
        if current is not None and current.startswith(MINTER_REASON):
            await self._set(repository, None)

    async def _set(self, repository: str, reason: str | None) -> None:
        async with self._sessions() as session:
            project = await projects_repo.get_project(
                session, key=projects_repo.project_key(repository), for_update=True
            )
            if project is None or project.attention_reason == reason:
                return
            if reason is None and not (project.attention_reason or "").startswith(MINTER_REASON):
                return
            before, project.attention_reason = project.attention_reason, reason
            project.version += 1
            project.updated_at = datetime.now(UTC)
            session.add(project)
            await session.flush()
            await self._announce(project_registry.updated(project))
            if (attention := needs_attention(project, before)) is not None:
                await self._announce(attention)
            await session.commit()
        self._cache.forget(repository)
        log.warning("%s: needs attention: %s", repository, reason or "no longer")
