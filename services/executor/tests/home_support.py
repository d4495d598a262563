"""What the tests of homes share: the run they move, a worker whose home nobody serves, and the
activities and signals a workflow's history shows (the executor's dependencies are conftest's
`homed_deps`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.worker import Worker

from paid_contracts import RepoRef
from paid_devstack.waiting import wait_until_async
from paid_executor.activities import ExecutorDeps
from paid_executor.activities.iterations import IterationActivities
from paid_executor.activities.worktrees import release_runs
from paid_executor.params import ExecutionInput
from paid_executor.worker import activities, worker_options
from paid_executor.workflows import AgentExecutionWorkflow
from paid_github_emulator.server import GitHubEmulator

from .conftest import ISSUE_WITH_FIX
from .test_workflow import request_for


def calc_fix_request(emulator: GitHubEmulator, calc_repo: RepoRef, **update: Any) -> ExecutionInput:
    """Opens the calculator's issue #1 (its fix described) and answers the request that runs it, with
    `update` (the timeouts a test needs)."""
    emulator.create_issue(
        "alice", calc_repo.name, title="add() subtracts", body=ISSUE_WITH_FIX, as_user="alice"
    )
    return request_for(calc_repo, 1).model_copy(update=update)


async def until_iteration(client: Client, workflow_id: str, queue: str, end: str, *, what: str) -> None:
    """Polls (never awaits a result: the time-skipping server's clock stays put) until a run_iteration
    on `queue` is `end` ("pending", "completed", ...)."""

    async def there() -> bool:
        return (queue, end) in started_on(await activity_events(client, workflow_id), "run_iteration")

    await wait_until_async(there, timeout=120, what=what)


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
