"""A project that comes to need a person is announced as `ProjectNeedsAttention` (for the notifier) beside
its snapshot: once per new reason, from the App's installation deliveries and from a refused credential;
a cleared reason, or the same reason again, announces none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import Event, ProjectNeedsAttention, ProjectSnapshot
from paid_gateway import app_installations, project_registry, projects_repo
from paid_gateway.app_installations import SUSPENDED, UNINSTALLED
from paid_gateway.config import GatewaySettings
from paid_gateway.project_attention import MINTER_REASON, ProjectAttention
from paid_gateway.project_registry import ProjectCache
from paid_gateway.project_schemas import ProjectCreate
from paid_runtime.secretbox import secret_box

INSTALLATION = 4242


class Announced:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def attention(self) -> list[ProjectNeedsAttention]:
        found = [event for event in self.events if isinstance(event, ProjectNeedsAttention)]
        self.events.clear()
        return found


def delivery(action: str, repository: str) -> dict[str, Any]:
    listed = [{"full_name": repository}]
    return {"action": action, "installation": {"id": INSTALLATION}, "repositories": listed}


async def test_installation_deliveries_announce_each_new_reason_once(
    sessions: async_sessionmaker[AsyncSession], settings: GatewaySettings
) -> None:
    repository = f"org-{uuid.uuid4().hex[:8]}/app"
    box = secret_box([], environment="development")
    announced = Announced()

    async def apply(action: str) -> list[ProjectNeedsAttention]:
        await app_installations.apply(
            "installation",
            delivery(action, repository),
            sessions=sessions,
            settings=settings,
            box=box,
            announce=announced,
            cache=ProjectCache(sessions, box, ttl=0),
        )
        return announced.attention()

    assert await apply("created") == []
    suspended = await apply("suspend")
    assert [(e.project, e.reason, e.app_state) for e in suspended] == [(repository, SUSPENDED, "suspended")]
    assert suspended[0].event_id == f"attention:{repository}:{suspended[0].version}"
    assert await apply("suspend") == [], "the same reason again is not news"
    assert await apply("unsuspend") == []
    uninstalled = await apply("deleted")
    assert [(e.reason, e.app_state) for e in uninstalled] == [(UNINSTALLED, "uninstalled")]
    assert uninstalled[0].version > suspended[0].version


async def test_a_refused_credential_announces_its_reason_once_and_a_mint_clears_it_quietly(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    repository = f"org-{uuid.uuid4().hex[:8]}/app"
    box = secret_box([], environment="development")
    async with sessions() as session:
        created = ProjectCreate(repository=repository, installation_id=INSTALLATION)
        row = project_registry.new_project(created, box=box, default_interval=60, now=datetime.now(UTC))
        await projects_repo.add_project(session, project=row)
        await session.commit()
    announced = Announced()
    attention = ProjectAttention(sessions, announced, ProjectCache(sessions, box, ttl=0))

    await attention.refused(repository, "Bad credentials <!channel>")
    snapshots = [event for event in announced.events if isinstance(event, ProjectSnapshot)]
    refused = announced.attention()
    assert [e.reason for e in refused] == [MINTER_REASON + "Bad credentials <!channel>"]
    assert [s.version for s in snapshots] == [refused[0].version]
    await attention.refused(repository, "Bad credentials <!channel>")
    assert announced.attention() == []
    await attention.minted(repository, MINTER_REASON + "Bad credentials <!channel>")
    assert announced.attention() == []
    await attention.refused(repository, "Bad credentials <!channel>")
    assert len(announced.attention()) == 1, "marked again after it was cleared: news again"
