"""The GitHub App's `installation` and `installation_repositories` deliveries register, pause and stop
projects: installing (or adding a repository) registers it with the default labels and poll interval
from settings; suspending pauses its polling; uninstalling (or removing a repository) stops it. Each
change is announced like an API change (ProjectRegistered/ProjectUpdated) and logged, and the project
shows its `app_state` and, when a person must act, `needs_attention`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import Event, LabelMapping, ProjectSnapshot
from paid_gateway import project_registry, projects_repo
from paid_gateway.config import GatewaySettings
from paid_gateway.models import Project
from paid_gateway.project_attention import needs_attention
from paid_gateway.project_registry import ProjectCache
from paid_gateway.project_schemas import REPOSITORY_PATTERN, Polling, ProjectCreate, ProjectUpdate
from paid_runtime.secretbox import SecretBox

log = logging.getLogger(__name__)
EVENTS = frozenset({"installation", "installation_repositories"})
SUSPENDED = "the GitHub App installation is suspended: unsuspend it on GitHub to resume"
UNINSTALLED = "the GitHub App was uninstalled from this repository: polling and runs are stopped"


INSTALLED: tuple[str, Polling, str | None] = ("installed", "active", None)
# (event, action) -> (App state, polling, needs-attention reason)
TARGETS: dict[tuple[str, str], tuple[str, Polling, str | None]] = {
    ("installation", "created"): INSTALLED,
    ("installation", "unsuspend"): INSTALLED,
    ("installation", "suspend"): ("suspended", "paused", SUSPENDED),
    ("installation", "deleted"): ("uninstalled", "stopped", UNINSTALLED),
    ("installation_repositories", "added"): INSTALLED,
    ("installation_repositories", "removed"): ("uninstalled", "stopped", UNINSTALLED),
}


@dataclass(frozen=True)
class Change:
    repository: str
    app_state: str
    polling: Polling
    attention: str | None


def changes(event: str, payload: dict[str, Any]) -> list[Change]:
    """What a delivery asks of each repository it names (unknown actions ask nothing)."""
    action = str(payload.get("action"))
    if event == "installation":
        listed = payload.get("repositories")
    else:
        listed = payload.get("repositories_added" if action == "added" else "repositories_removed")
    target = TARGETS.get((event, action))
    if target is None or not isinstance(listed, list):
        return []
    names = [item.get("full_name") for item in listed if isinstance(item, dict)]
    state, polling, attention = target
    return [
        Change(name, state, polling, attention) for name in names if isinstance(name, str) and _valid(name)
    ]


def _valid(name: object) -> bool:
    return isinstance(name, str) and re.fullmatch(REPOSITORY_PATTERN, name) is not None


async def apply(
    event: str,
    payload: dict[str, Any],
    *,
    sessions: async_sessionmaker[AsyncSession],
    settings: GatewaySettings,
    box: SecretBox,
    announce: Callable[[Event], Awaitable[None]],
    cache: ProjectCache,
) -> list[str]:
    """Apply a verified App delivery; returns one record per repository changed."""
    installation = payload.get("installation")
    installation_id = installation.get("id") if isinstance(installation, dict) else None
    if not isinstance(installation_id, int) or installation_id <= 0:
        return []
    records = []
    for change in changes(event, payload):
        async with sessions() as session:
            announced = await _apply_one(session, change, installation_id, settings=settings, box=box)
            if not announced:
                continue
            for announcement in announced:
                await announce(announcement)
            await session.commit()
        cache.forget(change.repository)
        record = f"{change.repository}: App {change.app_state}, polling {change.polling}"
        log.info("installation %d: %s", installation_id, record, extra={"repo": change.repository})
        records.append(record)
    return records


async def _apply_one(
    session: AsyncSession, change: Change, installation_id: int, *, settings: GatewaySettings, box: SecretBox
) -> list[Event]:
    """The project's snapshot, and its new need of attention if it has one; nothing if no project."""
    now = datetime.now(UTC)
    key = projects_repo.project_key(change.repository)
    project = await projects_repo.get_project(session, key=key, for_update=True)
    if project is None:
        if change.app_state != "installed":
            return []  # nothing to pause or stop
        project = project_registry.new_project(
            ProjectCreate(
                repository=change.repository,
                installation_id=installation_id,
                labels=LabelMapping(build=settings.build_label, plan=settings.plan_label),
            ),
            box=box,
            default_interval=settings.default_poll_interval_seconds,
            now=now,
        )
        _mark(project, change)
        await projects_repo.add_project(session, project=project)
        return _with_attention(project_registry.registered(project), project, None)
    before = project.attention_reason
    update = ProjectUpdate(installation_id=installation_id, polling=change.polling)
    project_registry.apply_update(project, update, box=box, rotation=timedelta(0), now=now)
    _mark(project, change)
    session.add(project)
    await session.flush()
    return _with_attention(project_registry.updated(project), project, before)


def _with_attention(snapshot: ProjectSnapshot, project: Project, before: str | None) -> list[Event]:
    attention = needs_attention(project, before)
    return [snapshot] if attention is None else [snapshot, attention]


def _mark(project: Project, change: Change) -> None:
    project.app_state = change.app_state
    project.attention_reason = change.attention
