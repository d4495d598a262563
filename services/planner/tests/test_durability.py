"""SIGKILL `paid-planner` while it creates sub-issues, start it again: every sub-issue exists exactly once,
in order. Real Temporal dev server, NATS, PostgreSQL, the GitHub and LLM emulators, the real process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus

from paid_contracts import PlanRequested, TriggerSource
from paid_devstack.nats import NatsServer
from paid_devstack.ports import free_port
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.temporal import TemporalDevServer
from paid_llm_emulator import LLMEmulator
from paid_planner.texts import comment_marker, task_marker
from paid_planner.workflows import PlanningWorkflow, plan_workflow_id
from paid_runtime.messaging import ensure_streams, make_broker, publish_event
from paid_runtime.temporal import connect_temporal

from .conftest import World, task

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PLANNER = Path(sys.executable).parent / "paid-planner"
TASKS = 12


@pytest.fixture(scope="module")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(tmp_path_factory.mktemp("temporal"), headless=True) as server:
        yield server


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(interval)


def planner_env(nats: NatsServer, temporal: TemporalDevServer, postgres: EmbeddedPostgres, world: World,
                llm: LLMEmulator) -> dict[str, str]:  # fmt: skip
    return {
        **os.environ,
        "PAID_PLANNER_HTTP_PORT": str(free_port()),
        "PAID_PLANNER_NATS_URL": nats.url,
        "PAID_PLANNER_TEMPORAL_TARGET": temporal.target,
        "PAID_PLANNER_DATABASE_URL": postgres.url,
        "PAID_PLANNER_GITHUB_API_URL": world.emulator.api_url,
        "PAID_PLANNER_GITHUB_TOKEN": world.bot_token,
        "PAID_PLANNER_GITHUB_CREDENTIALS": "global",  # no gateway, so no minter, in this test
        "PAID_PLANNER_TASK_QUEUE": f"planner-{uuid.uuid4()}",
        "PAID_PLANNER_LLM_PROVIDER": "openai",
        "PAID_PLANNER_LLM_BASE_URL": llm.openai_base_url,
        "PAID_PLANNER_LLM_MODEL": "gpt-4o-mini",
    }


# Heavy: the chaos short form (tests/chaos) kills the planner mid-flow in the default run.
@pytest.mark.heavy
async def test_killing_the_planner_while_it_creates_sub_issues_duplicates_none_and_misses_none(
    temporal_server: TemporalDevServer,
    nats_server: NatsServer,
    postgres: EmbeddedPostgres,
    world: World,
    llm: LLMEmulator,
    tmp_path: Path,
) -> None:
    tasks = [task(f"t{n}", f"Step {n}", (f"t{n - 1}",) if n > 1 else ()) for n in range(1, TASKS + 1)]
    llm.reply(json.dumps({"summary": "A long chain.", "tasks": tasks}))
    env = planner_env(nats_server, temporal_server, postgres, world, llm)
    log = (tmp_path / "planner.log").open("ab")

    def start_planner() -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(PLANNER)], env=env, stdout=log, stderr=subprocess.STDOUT)

    planner = start_planner()
    try:
        broker = make_broker(nats_server.url, "planner-durability-test")
        await broker.connect()
        await ensure_streams(broker)
        request = PlanRequested(
            producer="test", issue=world.issue, label="paid-plan", actor="octo-org",
            source=TriggerSource.WEBHOOK, source_id=f"delivery-{uuid.uuid4()}",
        )  # fmt: skip
        await publish_event(broker, request)
        await broker.stop()

        await asyncio.to_thread(
            wait_for, lambda: len(world.issues()) >= 3, 90, "sub-issues being created", 0.005
        )
        planner.send_signal(signal.SIGKILL)
        planner.wait(timeout=10)
        made_before_the_kill = len(world.issues()) - 1
        assert 2 <= made_before_the_kill < TASKS, "the kill must land while sub-issues are being created"
        planner = start_planner()

        client = await connect_temporal(temporal_server.target)
        plan_id = plan_workflow_id(world.issue)
        handle = client.get_workflow_handle_for(PlanningWorkflow.run, plan_id)
        marker = comment_marker(plan_id, "plan")
        plan_posted = lambda: any(marker in c["body"] for c in world.comments())  # noqa: E731
        await asyncio.to_thread(wait_for, plan_posted, 120, "the plan comment after the restart")
    finally:
        planner.send_signal(signal.SIGTERM)
        try:
            planner.wait(timeout=30)
        except subprocess.TimeoutExpired:
            planner.kill()
        log.close()

    created = [issue for issue in world.issues() if issue["number"] != world.issue.number]
    assert len(created) == TASKS, f"{len(created)} sub-issues for {TASKS} tasks"
    for n in range(1, TASKS + 1):
        carrying = [issue for issue in created if task_marker(plan_id, f"t{n}") in issue["body"]]
        assert len(carrying) == 1, f"task t{n} has {len(carrying)} sub-issues"
    assert [s["title"] for s in world.sub_issues()] == [f"Step {n}" for n in range(1, TASKS + 1)]
    assert len(llm.requests) == 1  # the plan was drafted once: the restart resumed it
    # The plan now waits for merges, without holding a worker: it is left running.
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
