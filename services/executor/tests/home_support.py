"""What the tests of homes share: the executor's dependencies, a worker whose home nobody serves, and
the activities and signals a workflow's history shows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.worker import Worker

from paid_executor.activities import ExecutorDeps, make_deps
from paid_executor.activities.iterations import IterationActivities
from paid_executor.activities.worktrees import release_runs
from paid_executor.config import ExecutorSettings
from paid_executor.worker import activities, worker_options
from paid_executor.workflows import AgentExecutionWorkflow
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.database import session_factory

from .conftest import TOKEN


def home_deps(
    emulator: GitHubEmulator, engine: AsyncEngine, broker: NatsBroker, tmp_path: Path
) -> ExecutorDeps:
    settings = ExecutorSettings(
        github_api_url=emulator.api_url,
        github_token=TOKEN,
        github_credentials="global",  # no gateway here: the token minter is tested on its own
        workspace_root=tmp_path / "workspaces",
        task_queue=f"executor-home-{uuid.uuid4()}",
    )
    return make_deps(settings, broker, session_factory(engine))


@asynccontextmanager
async def lost_worker(client: Client, deps: ExecutorDeps) -> AsyncIterator[str]:
    """A worker on the shared queue whose home queue nobody polls (its process is gone); yields it.
    Its run files go with it, as they would with its host."""
    home = f"{deps.settings.task_queue}@lost-host-{uuid.uuid4().hex[:8]}"
    try:
        async with Worker(
            client,
            task_queue=deps.settings.task_queue,
            workflows=[AgentExecutionWorkflow],
            activities=activities(IterationActivities(deps, home_queue=home)),
            # No sticky workflow cache: the time-skipping server never hands a dead worker's sticky
            # workflow tasks back to the shared queue (a real server does, after 5 s).
            **(worker_options(deps) | {"max_cached_workflows": 0}),
        ):
            yield home
    finally:
        await release_runs(home)


async def activity_events(client: Client, workflow_id: str) -> list[tuple[str, str, str]]:
    """(activity type, task queue, how it ended) of every activity the workflow scheduled, in order."""
    scheduled: dict[int, list[str]] = {}
    ended = {
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "completed",
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "failed",
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "timed out",
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "cancelled",
    }
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = [attrs.activity_type.name, attrs.task_queue.name, "pending"]
        elif event.event_type in ended:
            scheduled[_scheduled_id(event)][2] = ended[event.event_type]
    return [(kind, queue, end) for kind, queue, end in scheduled.values()]


async def signals(client: Client, workflow_id: str) -> list[tuple[str, str]]:
    """(name, first argument) of every signal the workflow received, in order."""
    received = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            attrs = event.workflow_execution_signaled_event_attributes
            [argument] = await client.data_converter.decode(attrs.input.payloads, [str])
            received.append((attrs.signal_name, argument))
    return received


def _scheduled_id(event: HistoryEvent) -> int:
    for name in ("completed", "failed", "timed_out", "canceled"):
        field = f"activity_task_{name}_event_attributes"
        if event.HasField(field):
            return int(getattr(event, field).scheduled_event_id)
    raise AssertionError(event)


def started_on(events: list[tuple[str, str, str]], kind: str) -> list[tuple[str, str]]:
    return [(queue, end) for activity, queue, end in events if activity == kind]
