"""The admission gate on Temporal's development server, in a workflow that does nothing but wait for its
slot and hold it until told to finish: the same gate, local activities, wake signal and queue as the
execution workflow (test_queued_runs.py runs that one, heavier), at a second per run. With the project
limit at 1, three runs of one project take turns in the order requested and wait through the worker
being stopped and another started; under a global limit of 1, two projects' runs alternate."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from paid_contracts import IssueRef, RepoRef
from paid_contracts.workflow_ids import EXECUTION_STATUS_QUERY, ExecutionSignal, execution_workflow_id
from paid_devstack import wait_until_async
from paid_devstack.temporal import TemporalDevServer
from paid_executor import admission_store
from paid_executor.activities import make_deps
from paid_executor.activities.admission import AdmissionActivities
from paid_executor.admission import AdmissionLimits
from paid_executor.admission_gate import AdmissionGate
from paid_executor.config import ExecutorSettings
from paid_executor.params import ExecutionInput
from paid_runtime.database import session_factory
from paid_runtime.temporal import connect_temporal

FINISH = "finish"
DEADLINE = 120.0
POLL_SECONDS = 2  # a queued run's look between wake signals: how soon a stale position is corrected


@workflow.defn(name="AdmissionStandIn")
class GatedRun(AdmissionGate):
    def __init__(self) -> None:
        super().__init__()
        self._finish = False

    @workflow.signal(name=ExecutionSignal.ADMIT)
    def admission_wake(self) -> None:
        self._wake_for_admission()

    @workflow.signal(name=FINISH)
    def finish(self) -> None:
        self._finish = True

    @workflow.signal(name=ExecutionSignal.CANCEL)
    def cancel(self) -> None:
        self._cancel_requested = True

    @workflow.query(name=EXECUTION_STATUS_QUERY)
    def status(self) -> dict[str, Any]:
        return {"step": self._step, "queue_position": self._queue_position}

    @workflow.run
    async def run(self, request: ExecutionInput) -> None:
        if await self._await_admission(request):
            self._step = "running"
            await workflow.execute_activity(
                "record_start", workflow.info().workflow_id, start_to_close_timeout=timedelta(seconds=10)
            )
            await workflow.wait_condition(lambda: self._finish or self._cancel_requested)
        await self._release_admission()


class Starts:
    def __init__(self) -> None:
        self.order: list[str] = []

    @activity.defn(name="record_start")
    async def record_start(self, workflow_id: str) -> None:
        if workflow_id not in self.order:
            self.order.append(workflow_id)


@pytest.fixture(scope="module")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(tmp_path_factory.mktemp("temporal"), headless=True) as server:
        yield server


@pytest.fixture
async def client(temporal: TemporalDevServer) -> Client:
    return await connect_temporal(temporal.target)


@asynccontextmanager
async def gate_worker(
    client: Client, engine: AsyncEngine, broker: NatsBroker, starts: Starts, task_queue: str, **limits: Any
) -> AsyncIterator[Worker]:
    settings = ExecutorSettings(task_queue=task_queue, admission_poll_seconds=POLL_SECONDS, **limits)
    admission = AdmissionActivities(make_deps(settings, broker, session_factory(engine)))
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[GatedRun],
        activities=[admission.admit_run, admission.release_run, starts.record_start],
        workflow_runner=UnsandboxedWorkflowRunner(),
        graceful_shutdown_timeout=timedelta(seconds=2),
    ) as worker:
        yield worker


async def request_run(client: Client, repo: RepoRef, number: int, task_queue: str) -> str:
    issue = IssueRef(repo=repo, number=number)
    request = ExecutionInput(issue=issue, source="webhook", source_id=str(number))
    workflow_id = execution_workflow_id(repo.full_name, number)
    await client.start_workflow("AdmissionStandIn", request, id=workflow_id, task_queue=task_queue)
    return workflow_id


async def request_after_the_first_starts(
    client: Client, starts: Starts, task_queue: str, runs: list[tuple[RepoRef, int]]
) -> None:
    """The first run starts before the others ask: runs that ask at the same moment are ordered by the
    order they reach the queue, which the test does not control."""
    first, *others = runs
    await request_run(client, *first, task_queue)

    async def started() -> bool:
        return len(starts.order) == 1

    await wait_until_async(started, timeout=DEADLINE, what="the first run to start")
    for repo, number in others:
        await request_run(client, repo, number, task_queue)


async def positions(client: Client, workflow_ids: list[str]) -> list[int | None]:
    found = []
    for workflow_id in workflow_ids:
        status = await client.get_workflow_handle(workflow_id).query(EXECUTION_STATUS_QUERY)
        found.append(status["queue_position"] if status["step"] == "queued" else None)
    return found


async def finish_in_turn(client: Client, starts: Starts, expected: list[str]) -> None:
    """Lets each run finish once it has started, and checks that they start in `expected` order."""
    for index, workflow_id in enumerate(expected):

        async def started(count: int = index + 1) -> bool:
            return len(starts.order) >= count

        await wait_until_async(started, timeout=DEADLINE, what=f"run {index + 1} of {len(expected)} to start")
        assert starts.order == expected[: index + 1]
        await client.get_workflow_handle(workflow_id).signal(FINISH)
    for workflow_id in expected:
        await client.get_workflow_handle(workflow_id).result()


def project() -> RepoRef:
    return RepoRef(owner="alice", name=f"gate-{uuid.uuid4().hex[:8]}")


@asynccontextmanager
async def left_clean(client: Client, engine: AsyncEngine, workflow_ids: list[str]) -> AsyncIterator[None]:
    """A failed test's runs would stay queued, ahead of the next test's in the shared queue: they are
    terminated and their rows released."""
    try:
        yield
    finally:
        for workflow_id in workflow_ids:
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(workflow_id).terminate("test over")
        async with session_factory(engine)() as session:
            limits = AdmissionLimits(total=1, per_project=1, per_provider=1)
            await admission_store.release(session, workflow_ids, limits)


async def test_runs_past_the_project_limit_queue_survive_a_restart_and_start_in_order(
    client: Client, engine: AsyncEngine, broker: NatsBroker
) -> None:
    repo, starts, task_queue = project(), Starts(), f"gate-{uuid.uuid4()}"
    ids = [execution_workflow_id(repo.full_name, n) for n in (1, 2, 3)]
    limits = {"max_running_runs_per_project": 1}
    async with left_clean(client, engine, ids):
        async with gate_worker(client, engine, broker, starts, task_queue, **limits):
            await request_after_the_first_starts(client, starts, task_queue, [(repo, n) for n in (1, 2, 3)])

            async def two_queued() -> bool:
                return starts.order == ids[:1] and await positions(client, ids[1:]) == [1, 2]

            await wait_until_async(two_queued, timeout=DEADLINE, what="one run started and two queued")
        # No worker at all: the queued runs are Temporal's timers and the admission table's rows.
        async with gate_worker(client, engine, broker, starts, task_queue, **limits):
            assert await positions(client, ids[1:]) == [1, 2]
            await finish_in_turn(client, starts, ids)


async def test_two_projects_alternate_under_a_global_limit_of_one(
    client: Client, engine: AsyncEngine, broker: NatsBroker
) -> None:
    a, b, starts, task_queue = project(), project(), Starts(), f"gate-{uuid.uuid4()}"
    a_ids = [execution_workflow_id(a.full_name, n) for n in (1, 2)]
    b_ids = [execution_workflow_id(b.full_name, n) for n in (1, 2)]
    async with (
        left_clean(client, engine, a_ids + b_ids),
        gate_worker(client, engine, broker, starts, task_queue, max_running_runs=1),
    ):
        runs = [(a, 1), (a, 2), (b, 1), (b, 2)]
        await request_after_the_first_starts(client, starts, task_queue, runs)

        async def all_queued() -> bool:
            return len(starts.order) == 1 and await positions(client, [a_ids[1], *b_ids]) == [2, 1, 3]

        await wait_until_async(all_queued, timeout=DEADLINE, what="B's first run queued ahead of A's second")
        await finish_in_turn(client, starts, [a_ids[0], b_ids[0], a_ids[1], b_ids[1]])


async def test_a_run_cancelled_while_queued_gives_up_its_place(
    client: Client, engine: AsyncEngine, broker: NatsBroker
) -> None:
    repo, starts, task_queue = project(), Starts(), f"gate-{uuid.uuid4()}"
    ids = [execution_workflow_id(repo.full_name, n) for n in (1, 2, 3)]
    async with (
        left_clean(client, engine, ids),
        gate_worker(client, engine, broker, starts, task_queue, max_running_runs_per_project=1),
    ):
        await request_after_the_first_starts(client, starts, task_queue, [(repo, n) for n in (1, 2, 3)])

        async def queued() -> bool:
            return await positions(client, ids[1:]) == [1, 2]

        await wait_until_async(queued, timeout=DEADLINE, what="two runs queued")
        await client.get_workflow_handle(ids[1]).signal(ExecutionSignal.CANCEL)
        await client.get_workflow_handle(ids[1]).result()

        async def moved_up() -> bool:
            return await positions(client, ids[2:]) == [1]

        await wait_until_async(moved_up, timeout=DEADLINE, what="the third run to move up")
        await finish_in_turn(client, starts, [ids[0], ids[2]])
