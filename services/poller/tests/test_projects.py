"""Project announcements from the gateway: kept (newest version wins) and turned into polls."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from paid_contracts import LabelMapping, ProjectRegistered, ProjectUpdated, RepoRef
from paid_poller import repo
from paid_poller.activities import PollerActivities
from paid_poller.config import PollerSettings
from paid_poller.subscribers import apply_project
from paid_poller.worker import build_worker
from paid_poller.workflows import poll_workflow_id


def announcement(
    world: Any, kind: type[ProjectRegistered] | type[ProjectUpdated], version: int, **fields: Any
) -> Any:
    return kind(
        producer="gateway",
        project_id=world.full_name,
        version=version,
        repo=RepoRef(owner=world.owner, name=world.name),
        poll_interval_seconds=300,
        labels=LabelMapping(build="robot"),
        **fields,
    )


async def test_a_registered_project_is_kept_and_polled_with_its_own_token(
    temporal: WorkflowEnvironment,
    activities: PollerActivities,
    sessions: async_sessionmaker[AsyncSession],
    world: Any,
) -> None:
    settings = PollerSettings(task_queue=f"poller-test-{uuid.uuid4()}")
    world.emulator.add_user("project-bot", "ghp_project_bot")
    registered = announcement(
        world,
        ProjectRegistered,
        1,
        token_ciphertext=activities.box.encrypt("ghp_project_bot"),
        allowlist=("bob",),
    )
    async with build_worker(temporal.client, task_queue=settings.task_queue, activities=activities):
        await apply_project(registered, sessions=sessions, client=temporal.client, settings=settings)
        handle = temporal.client.get_workflow_handle(poll_workflow_id(world.owner, world.name))

        async def polled() -> bool:
            async with sessions() as session:
                return await repo.get_poll_state(session, repo=world.full_name) is not None

        for _ in range(120):  # a deadline: two minutes of (skipped) workflow time
            if await polled():
                break
            await temporal.sleep(1)
        assert await polled(), "the project was never polled"
        assert world.emulator.rate_limit_usage("ghp_project_bot").used > 0  # the project's token, not ours
        assert world.emulator.rate_limit_usage(world.token).used == 0

        stale = announcement(world, ProjectUpdated, 1, polling="stopped")
        await apply_project(stale, sessions=sessions, client=temporal.client, settings=settings)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # an old version: ignored

        stopped = announcement(world, ProjectUpdated, 2, polling="stopped")
        await apply_project(stopped, sessions=sessions, client=temporal.client, settings=settings)
        async with sessions() as session:
            kept = await repo.get_project(session, repo=world.full_name)
        assert kept is not None
        assert (kept.version, kept.polling, kept.labels["build"], kept.allowlist) == (
            2,
            "stopped",
            "robot",
            [],
        )
        for _ in range(120):
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                break
            await temporal.sleep(1)
        assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
