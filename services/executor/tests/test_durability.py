"""The acceptance test of durability: SIGKILL the executor while its agent runs, start it again, and
the run still ends in exactly one pull request. Real Temporal, NATS, PostgreSQL and `paid-executor`."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from paid_contracts import BuildRequested, IssueRef, RepoRef, RunOutcome, TriggerSource
from paid_devstack.nats import NatsServer
from paid_devstack.ports import free_port
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.temporal import TemporalDevServer
from paid_executor.agents.registry import demo_agent_argv
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.messaging import ensure_streams, make_broker, publish_event
from paid_runtime.temporal import connect_temporal

from .conftest import ISSUE_WITH_FIX, TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXECUTOR = Path(sys.executable).parent / "paid-executor"


@pytest.fixture(scope="module")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(tmp_path_factory.mktemp("temporal"), headless=True) as server:
        yield server


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what}")
        time.sleep(0.1)


# Heavy: its short form across the whole stack is tests/integration/test_durability.py.
@pytest.mark.heavy
async def test_killing_the_executor_mid_agent_still_gives_exactly_one_pull_request(
    temporal: TemporalDevServer,
    nats_server: NatsServer,
    postgres: EmbeddedPostgres,
    emulator: GitHubEmulator,
    tmp_path: Path,
) -> None:
    emulator.add_user("alice", TOKEN)
    emulator.create_repository("alice", "calc", {"calc.py": "def add(a, b):\n    return a - b\n"})
    emulator.create_issue("alice", "calc", title="add() subtracts", body=ISSUE_WITH_FIX, as_user="alice")
    attempts = tmp_path / "agent-attempts"
    slow_demo = f"echo started >> {attempts}; sleep 3; exec {shlex.join(demo_agent_argv())}"
    env = {
        **os.environ,
        "PAID_EXECUTOR_NATS_URL": nats_server.url,
        "PAID_EXECUTOR_TEMPORAL_TARGET": temporal.target,
        "PAID_EXECUTOR_DATABASE_URL": postgres.url,
        "PAID_EXECUTOR_GITHUB_API_URL": emulator.api_url,
        "PAID_EXECUTOR_GITHUB_TOKEN": TOKEN,
        "PAID_EXECUTOR_GITHUB_CREDENTIALS": "global",  # no gateway, so no minter, here
        "PAID_EXECUTOR_HTTP_PORT": str(free_port()),
        "PAID_EXECUTOR_TASK_QUEUE": "executor-durability",
        "PAID_EXECUTOR_WORKSPACE_ROOT": str(tmp_path / "workspaces"),
        "PAID_EXECUTOR_AGENT": "command",
        "PAID_EXECUTOR_AGENT_COMMAND": shlex.join(["sh", "-c", slow_demo]),
        "PAID_EXECUTOR_HEARTBEAT_TIMEOUT_SECONDS": "2",
        # The agent records its attempts outside its worktree, which a sandbox would refuse.
        "PAID_EXECUTOR_SANDBOX": "none",
    }
    log = (tmp_path / "executor.log").open("ab")

    def start_executor() -> subprocess.Popen[bytes]:
        return subprocess.Popen([str(EXECUTOR)], env=env, stdout=log, stderr=subprocess.STDOUT)

    def attempts_started() -> int:
        return len(attempts.read_text().splitlines()) if attempts.exists() else 0

    executor = start_executor()
    try:
        broker = make_broker(nats_server.url, "durability-test")
        await broker.connect()
        await ensure_streams(broker)
        issue = IssueRef(repo=RepoRef(owner="alice", name="calc"), number=1)
        await publish_event(
            broker,
            BuildRequested(
                producer="test",
                issue=issue,
                label="paid-build",
                actor="alice",
                source=TriggerSource.WEBHOOK,
                source_id="delivery-1",
            ),
        )
        await broker.stop()

        await asyncio.to_thread(wait_for, lambda: attempts_started() == 1, 60, "the agent to start")
        executor.send_signal(signal.SIGKILL)
        executor.wait(timeout=10)
        executor = start_executor()

        client = await connect_temporal(temporal.target)
        handle = client.get_workflow_handle_for(AgentExecutionWorkflow.run, workflow_id_for(issue))
        result = await asyncio.wait_for(handle.result(), timeout=90)
    finally:
        executor.send_signal(signal.SIGTERM)
        try:
            executor.wait(timeout=20)
        except subprocess.TimeoutExpired:
            executor.kill()
        log.close()

    assert result.outcome is RunOutcome.SUCCEEDED
    assert attempts_started() == 2  # the killed attempt and its retry on the restarted worker
    pulls = emulator.pulls("alice", "calc")
    assert len(pulls) == 1
    assert f"<!-- paid:run={result.run_id} -->" in pulls[0]["body"]
    assert len(emulator.comments("alice", "calc", 1)) == 1
