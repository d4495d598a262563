"""GitHubPollWorkflow with its real activity on the time-skipping test server."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from paid_poller.activities import PollerActivities
from paid_poller.params import PollInput, PollResult, PollStatus
from paid_poller.polls import apply_polling, ensure_polling
from paid_poller.worker import build_worker
from paid_poller.workflows import GitHubPollWorkflow, poll_workflow_id

RUNNING = WorkflowExecutionStatus.RUNNING
HISTORIES = Path(__file__).parent / "histories"


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.05)


async def status_of(handle: WorkflowHandle[Any, Any]) -> PollStatus:
    status: PollStatus = await handle.query(GitHubPollWorkflow.status)
    return status


async def test_polls_on_a_durable_timer_and_continues_as_new(
    temporal: WorkflowEnvironment, activities: PollerActivities, world: Any
) -> None:
    task_queue = f"poller-test-{uuid.uuid4()}"
    poll = PollInput(owner=world.owner, name=world.name, interval_seconds=300, cycles_per_run=2)

    async with build_worker(temporal.client, task_queue=task_queue, activities=activities):
        handle = await temporal.client.start_workflow(
            GitHubPollWorkflow.run, poll, id=poll_workflow_id(world.owner, world.name), task_queue=task_queue
        )
        first_run = (await handle.describe()).run_id

        async def polled(cycles: int) -> bool:
            return (await status_of(handle)).cycles >= cycles

        await eventually(lambda: polled(1))
        assert (await status_of(handle)).last == PollResult(not_modified=False)

        world.emulator.add_labels(world.owner, world.name, 1, ["paid-build"], as_user=world.owner)
        await temporal.sleep(301)
        await eventually(lambda: polled(2))
        assert (await status_of(handle)).last == PollResult(not_modified=False, published=1)
        assert (await handle.describe()).run_id == first_run

        await temporal.sleep(301)  # the second cycle's timer ends the run: continue-as-new

        async def continued() -> bool:
            return (await handle.describe()).run_id != first_run and await polled(1)

        await eventually(continued)
        assert (await status_of(handle)).last == PollResult(not_modified=True)
        await handle.terminate("test over")
    if os.environ.get("PAID_RECORD_HISTORIES") == "1":
        first = temporal.client.get_workflow_handle(
            poll_workflow_id(world.owner, world.name), run_id=first_run
        )
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / "polled_and_continued.json").write_text((await first.fetch_history()).to_json())


def test_histories_are_recorded() -> None:
    assert {path.stem for path in HISTORIES.glob("*.json")} >= {"polled_and_continued"}


@pytest.mark.parametrize("recorded", sorted(HISTORIES.glob("*.json")), ids=lambda path: path.stem)
async def test_recorded_histories_still_replay(recorded: Path) -> None:
    """A change that would break running polls fails here. Re-record (after a deliberate, versioned
    change) with PAID_RECORD_HISTORIES=1."""
    history = WorkflowHistory.from_json("recorded", recorded.read_text())
    await Replayer(workflows=[GitHubPollWorkflow], data_converter=pydantic_data_converter).replay_workflow(
        history
    )


async def test_an_exhausted_rate_limit_is_a_durable_wait_for_the_reset(
    temporal: WorkflowEnvironment, activities: PollerActivities, world: Any
) -> None:
    task_queue = f"poller-test-{uuid.uuid4()}"
    poll = PollInput(owner=world.owner, name=world.name, interval_seconds=300)
    world.emulator.set_rate_limit(world.token, limit=0, window_seconds=2)

    async with build_worker(temporal.client, task_queue=task_queue, activities=activities):
        handle = await temporal.client.start_workflow(
            GitHubPollWorkflow.run, poll, id=poll_workflow_id(world.owner, world.name), task_queue=task_queue
        )
        await eventually(lambda: rate_limited(handle))
        world.emulator.set_rate_limit(world.token, limit=100, window_seconds=2)
        world.emulator.add_labels(world.owner, world.name, 1, ["paid-build"], as_user=world.owner)

        async def published() -> bool:
            return (await status_of(handle)).published == 1

        await eventually(published)
        status = await status_of(handle)
        assert status.rate_limit_waits >= 1
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        await handle.terminate("test over")


async def rate_limited(handle: WorkflowHandle[Any, Any]) -> bool:
    return (await status_of(handle)).rate_limit_waits >= 1


async def test_polling_is_paused_resumed_and_stopped_per_project(
    temporal: WorkflowEnvironment, activities: PollerActivities, world: Any
) -> None:
    task_queue = f"poller-test-{uuid.uuid4()}"
    poll = PollInput(owner=world.owner, name=world.name, interval_seconds=300)
    async with build_worker(temporal.client, task_queue=task_queue, activities=activities):
        assert await apply_polling(temporal.client, poll, polling="paused", task_queue=task_queue) == RUNNING
        handle = temporal.client.get_workflow_handle(poll_workflow_id(world.owner, world.name))
        assert (await status_of(handle)).cycles == 0
        assert (await status_of(handle)).paused

        await apply_polling(temporal.client, poll, polling="active", task_queue=task_queue)
        await eventually(lambda: polled_once(handle))

        await apply_polling(temporal.client, poll, polling="stopped", task_queue=task_queue)
        await eventually(lambda: cancelled(handle))
        await apply_polling(temporal.client, poll, polling="stopped", task_queue=task_queue)  # idempotent


async def polled_once(handle: WorkflowHandle[Any, Any]) -> bool:
    return (await status_of(handle)).cycles >= 1


async def cancelled(handle: WorkflowHandle[Any, Any]) -> bool:
    return (await handle.describe()).status == WorkflowExecutionStatus.CANCELED


async def test_ensure_polling_starts_one_poll_per_repository_and_keeps_running_ones(
    temporal: WorkflowEnvironment, activities: PollerActivities, world: Any
) -> None:
    task_queue = f"poller-test-{uuid.uuid4()}"
    async with build_worker(temporal.client, task_queue=task_queue, activities=activities):

        async def ensure() -> list[str]:
            return await ensure_polling(
                temporal.client,
                repositories=[world.full_name],
                interval_seconds=300.0,
                cycles_per_run=5,
                task_queue=task_queue,
            )

        [workflow_id] = await ensure()
        handle = temporal.client.get_workflow_handle(workflow_id)
        first_run = (await handle.describe()).run_id
        assert await ensure() == [workflow_id]
        assert (await handle.describe()).run_id == first_run
        await handle.terminate("test over")
