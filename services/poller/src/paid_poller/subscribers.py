"""What the poller consumes: the gateway's project announcements (`paid.project.*`)."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from paid_contracts import ProjectSnapshot
from paid_contracts.subjects import STREAM_PROJECT
from paid_poller import repo
from paid_poller.config import PollerSettings
from paid_poller.models import PolledProject
from paid_poller.params import PollInput
from paid_poller.polls import apply_polling
from paid_runtime.messaging import STREAMS
from paid_runtime.subscriptions import durable_subscriber

log = logging.getLogger(__name__)
SERVICE = "poller"


def polled_project(event: ProjectSnapshot) -> PolledProject:
    return PolledProject(
        repo=event.repo.full_name.lower(),
        owner=event.repo.owner,
        name=event.repo.name,
        version=event.version,
        token_ciphertext=event.token_ciphertext,
        labels=event.labels.model_dump(),
        poll_interval_seconds=event.poll_interval_seconds,
        polling=event.polling,
        allowlist=list(event.allowlist),
        registered_at=event.occurred_at,
    )


async def apply_project(
    event: ProjectSnapshot,
    *,
    sessions: async_sessionmaker[AsyncSession],
    client: Client,
    settings: PollerSettings,
) -> None:
    """Keeps the project (newest version wins) and brings its poll to the announced state."""
    async with sessions() as session:
        stored = await repo.save_project(session, project=polled_project(event))
    if not stored:
        log.info("project %s v%d is older than the one kept; ignored", event.project_id, event.version)
        return
    poll = PollInput(
        owner=event.repo.owner,
        name=event.repo.name,
        interval_seconds=event.poll_interval_seconds,
        cycles_per_run=settings.cycles_per_run,
    )
    await apply_polling(client, poll, polling=event.polling, task_queue=settings.task_queue)
    log.info("project %s v%d: polling %s", event.project_id, event.version, event.polling)


def register(
    broker: NatsBroker, client: Client, sessions: async_sessionmaker[AsyncSession], settings: PollerSettings
) -> None:
    @durable_subscriber(
        broker,
        service=SERVICE,
        name="projects",
        subject="paid.project.>",
        stream=STREAMS[STREAM_PROJECT.name],
    )
    async def on_project(event: ProjectSnapshot) -> None:
        await apply_project(event, sessions=sessions, client=client, settings=settings)
