"""Queued runs through the real execution workflow (clone, agent, report): with the project limit at 1
and five issues, four wait as `queued` with their positions, survive the executor being stopped and
another started while they wait, and start in order; five runs each of two projects under a global limit
of one alternate. Heavy: a run is seconds here. The default run's short form is test_admission_gate.py
(the same gate in a workflow that only waits)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faststream.nats import NatsBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from paid_contracts import RepoRef
from paid_contracts.workflow_ids import EXECUTION_STATUS_QUERY, ExecutionSignal
from paid_devstack import wait_until_async
from paid_devstack.temporal import TemporalDevServer
from paid_executor.params import ExecutionInput, RunStatus
from paid_executor.subscribers import start_execution
from paid_executor.workflows import workflow_id_for
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.temporal import connect_temporal

from .conftest import BUGGY_CALC, TEST_CALC, TOKEN
from .loop_support import loop_request, loop_worker, script_agent


def request(repo_ref: RepoRef, number: int, **overrides: Any) -> ExecutionInput:
    """One iteration of an agent that changes nothing: a run as short as a whole run can be."""
    return loop_request(repo_ref, number, max_iterations=1, **overrides)


pytestmark = pytest.mark.heavy
NO_CHANGE_AGENT = "pass"
DEADLINE = 300.0


@pytest.fixture(scope="module")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(tmp_path_factory.mktemp("temporal"), headless=True) as server:
        yield server


@pytest.fixture
async def env(temporal: TemporalDevServer) -> WorkflowEnvironment:
    """The development server, not the time-skipping one: a stopped worker's workflows must move to the
    next worker (sticky queues time out) for their queries and timers, as in production."""
    return WorkflowEnvironment.from_client(await connect_temporal(temporal.target))


def repository(emulator: GitHubEmulator, issues: int) -> RepoRef:
    emulator.add_user("alice", TOKEN)
    name = f"queue-{uuid.uuid4().hex[:8]}"
    emulator.create_repository("alice", name, {"calc.py": BUGGY_CALC, "test_calc.py": TEST_CALC})
    for n in range(issues):
        emulator.create_issue("alice", name, title=f"issue {n + 1}", body="add() subtracts", as_user="alice")
    return RepoRef(owner="alice", name=name)


async def status(client: Client, workflow_id: str) -> RunStatus:
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(workflow_id)
    status: RunStatus = await handle.query(EXECUTION_STATUS_QUERY, result_type=RunStatus)
    return status


async def queued_positions(client: Client, workflow_ids: list[str]) -> list[int | None]:
    found = [await status(client, workflow_id) for workflow_id in workflow_ids]
    return [s.queue_position if s.step == "queued" else None for s in found]


async def start_order(engine: AsyncEngine, repos: list[RepoRef]) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT workflow_id FROM executor.runs WHERE repo = ANY(:repos) ORDER BY started_at"),
            {"repos": [r.full_name for r in repos]},
        )
        return [row[0] for row in rows]


async def finished(client: Client, workflow_ids: list[str]) -> bool:
    for workflow_id in workflow_ids:
        description = await client.get_workflow_handle(workflow_id).describe()
        if description.status is None or description.status.name == "RUNNING":
            return False
    return True


async def wait_for(check: Callable[[], Awaitable[bool]], what: str) -> None:
    await wait_until_async(check, timeout=DEADLINE, what=what)


async def queue_behind_one_run(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
    issues: int,
) -> None:
    """Project limit 1: the first run holds the slot (paused after its clone), the others queue in order;
    the worker is stopped and a new one started while they wait; then they start one by one, in order."""
    repo_ref = repository(emulator, issues)
    settings: dict[str, Any] = {
        "task_queue": f"executor-queue-{uuid.uuid4()}",
        "max_running_runs_per_project": 1,
        "worktree_overlay": False,  # the stopped worker's worktree stays behind: no mount to leave
        "admission_poll_seconds": 5,
        "agent_command": script_agent(tmp_path / "agent.py", NO_CHANGE_AGENT),
    }
    ids = [workflow_id_for(loop_request(repo_ref, n).issue) for n in range(1, issues + 1)]
    client = env.client
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws1", **settings):
        first = request(repo_ref, 1, home_start_timeout_seconds=2)
        await start_execution(client, first, task_queue=settings["task_queue"])
        await client.get_workflow_handle(ids[0]).signal(ExecutionSignal.PAUSE)

        async def first_holds() -> bool:
            return (await status(client, ids[0])).step == "paused"

        await wait_for(first_holds, "the first run holds the slot")
        for n in range(2, issues + 1):
            queued = request(repo_ref, n, home_start_timeout_seconds=2)
            await start_execution(client, queued, task_queue=settings["task_queue"])

        async def all_queued() -> bool:
            return await queued_positions(client, ids[1:]) == list(range(1, issues))

        await wait_for(all_queued, f"{issues - 1} runs queued in order")
    # The executor is gone; the queued runs are in Temporal's and the database's hands only.
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws2", **settings):
        await wait_for(all_queued, "the queued runs survive the restart, in order")
        assert await start_order(engine, [repo_ref]) == ids[:1]
        await client.get_workflow_handle(ids[0]).signal(ExecutionSignal.RESUME)

        async def all_done() -> bool:
            return await finished(client, ids)

        await wait_for(all_done, "every run finished")
    assert await start_order(engine, [repo_ref]) == ids


async def alternate_between_projects(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
    per_project: int,
) -> None:
    """Global limit 1: project A's runs are all requested before project B's, and still they alternate."""
    a, b = repository(emulator, per_project), repository(emulator, per_project)
    settings: dict[str, Any] = {
        "task_queue": f"executor-fair-{uuid.uuid4()}",
        "max_running_runs": 1,
        "worktree_overlay": False,
        "admission_poll_seconds": 5,
        "agent_command": script_agent(tmp_path / "agent.py", NO_CHANGE_AGENT),
    }
    client = env.client
    a_ids = [workflow_id_for(loop_request(a, n).issue) for n in range(1, per_project + 1)]
    b_ids = [workflow_id_for(loop_request(b, n).issue) for n in range(1, per_project + 1)]
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", **settings):
        await start_execution(client, request(a, 1), task_queue=settings["task_queue"])
        await client.get_workflow_handle(a_ids[0]).signal(ExecutionSignal.PAUSE)

        async def first_holds() -> bool:
            return (await status(client, a_ids[0])).step == "paused"

        await wait_for(first_holds, "A's first run holds the only slot")
        for repo_ref in (a, b):
            for n in range(2 if repo_ref is a else 1, per_project + 1):
                await start_execution(client, request(repo_ref, n), task_queue=settings["task_queue"])
        await client.get_workflow_handle(a_ids[0]).signal(ExecutionSignal.RESUME)

        async def all_done() -> bool:
            return await finished(client, a_ids + b_ids)

        await wait_for(all_done, "every run finished")
    alternating = [run for pair in zip(a_ids, b_ids, strict=True) for run in pair]
    assert await start_order(engine, [a, b]) == alternating


async def test_five_issues_four_queue_survive_a_restart_and_start_in_order(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    await queue_behind_one_run(env, emulator, engine, broker, tmp_path, issues=5)


async def test_two_projects_of_five_alternate(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    await alternate_between_projects(env, emulator, engine, broker, tmp_path, per_project=5)
