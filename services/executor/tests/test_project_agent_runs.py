"""A run uses the agent and model chosen for its project through the API (kept from the gateway's
snapshots, fixed when the run is requested), below the repository's .paid.yml; a project's agent
this executor does not allow ends the run before any agent starts, with one comment."""

from __future__ import annotations

import contextlib
import json
import uuid
from pathlib import Path

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import BuildRequested, IssueRef, RepoRef, RunOutcome, TriggerSource
from paid_devstack import wait_until_async
from paid_devstack.nats import NatsServer
from paid_executor import subscribers
from paid_executor.config import ExecutorSettings
from paid_executor.project_agents import save_snapshot, with_project_agent
from paid_executor.workflows import workflow_id_for
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.messaging import make_broker, publish_event

from .conftest import BUGGY_CALC, FIXED_CALC, ISSUE_WITH_FIX, TEST_CALC, TOKEN
from .loop_support import loop_request, loop_worker, run_fails, run_to_end, script_agent
from .test_fix_forward import only_comment
from .test_project_agents import snapshot
from .test_workflow import run_events


def calc_repository(emulator: GitHubEmulator, paid_yml: str) -> RepoRef:
    emulator.add_user("alice", TOKEN)
    name = f"calc-{uuid.uuid4().hex[:8]}"
    files = {"calc.py": BUGGY_CALC, "test_calc.py": TEST_CALC, ".paid.yml": paid_yml}
    emulator.create_repository("alice", name, files)
    emulator.create_issue("alice", name, title="add() subtracts", body=ISSUE_WITH_FIX, as_user="alice")
    return RepoRef(owner="alice", name=name)


async def test_a_request_takes_the_projects_agent_as_kept_then(engine: AsyncEngine) -> None:
    repo_ref = RepoRef(owner="Acme", name=f"kept-{uuid.uuid4().hex[:8]}")
    request = loop_request(repo_ref)
    assert await with_project_agent(engine, request) == request  # nothing kept: the executor's own

    await save_snapshot(engine, snapshot(repo_ref.full_name.lower(), 4, "codex", "gpt-5"))
    chosen = await with_project_agent(engine, request)

    assert (chosen.agent, chosen.project_agent, chosen.project_model) == ("command", "codex", "gpt-5")


@pytest.mark.parametrize(
    ("paid_yml_model", "ran_model"),
    [
        (None, "project-model-1"),
        pytest.param("repository-model-2", "repository-model-2", marks=pytest.mark.heavy),  # .paid.yml wins
    ],
)
async def test_a_run_uses_the_projects_agent_and_paid_yml_still_wins(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
    paid_yml_model: str | None,
    ran_model: str,
) -> None:
    """The executor's own agent is a command; the project's is the demo agent, which fixes the issue."""
    paid_yml = "test: python -m pytest -q\n" + (f"model: {paid_yml_model}\n" if paid_yml_model else "")
    repo_ref = calc_repository(emulator, paid_yml)
    ran = tmp_path / "ran"
    command = script_agent(tmp_path / "agent.py", f"pathlib.Path({str(ran)!r}).write_text('x')")
    settings = {"agent": "command", "agent_command": command, "allowed_agents": ["demo"]}
    request = loop_request(repo_ref, project_agent="demo", project_model="project-model-1")
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", **settings) as worker:
        result = await run_to_end(env.client, request, worker.task_queue)

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    assert not ran.exists()
    assert emulator.file_content(repo_ref.owner, repo_ref.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    finished = (await run_events(broker, result.run_id))["paid.run.finished"]
    assert (finished["agent"], finished["model"]) == ("demo", ran_model)


async def test_a_projects_agent_this_executor_does_not_allow_runs_nothing_and_says_why(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = calc_repository(emulator, "test: python -m pytest -q\n")
    ran = tmp_path / "ran"
    command = script_agent(tmp_path / "agent.py", f"pathlib.Path({str(ran)!r}).write_text('x')")
    settings = {"agent": "command", "agent_command": command, "allowed_agents": ["demo"]}
    request = loop_request(repo_ref, project_agent="gemini")
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", **settings) as worker:
        await run_fails(env.client, request, worker.task_queue)

    assert not ran.exists()
    assert "this project's agent `gemini` is not one this Paid allows" in only_comment(emulator, repo_ref)


async def test_a_build_request_carries_the_projects_agent_as_kept(
    env: WorkflowEnvironment, worker: Worker, nats_server: NatsServer, engine: AsyncEngine, calc_repo: RepoRef
) -> None:
    """The subscriber's glue: a build request for a project with an agent starts a run whose input
    names it (the run then holds it to the allowed agents, as above)."""
    await save_snapshot(engine, snapshot(calc_repo.full_name, 1, "codex", "gpt-5"))
    consumer = make_broker(nats_server.url, "executor-project-agent-test")
    subscribers.register(consumer, env.client, ExecutorSettings(task_queue=worker.task_queue), engine)
    await consumer.start()
    issue = IssueRef(repo=calc_repo, number=1)
    handle = env.client.get_workflow_handle(workflow_id_for(issue))
    try:
        event = BuildRequested(
            producer="test",
            issue=issue,
            label="paid-build",
            actor="alice",
            source=TriggerSource.WEBHOOK,
            source_id=str(uuid.uuid4()),
        )
        await publish_event(consumer, event)

        async def started() -> bool:
            try:
                await handle.describe()
            except RPCError:
                return False
            return True

        await wait_until_async(started, timeout=60, what="the build request's run to start")
        history = await handle.fetch_history()
    finally:
        await consumer.stop()
        with contextlib.suppress(RPCError):
            await handle.terminate("the test read its input")

    start = history.events[0].workflow_execution_started_event_attributes
    request = json.loads(start.input.payloads[0].data)
    assert (request["project_agent"], request["project_model"], request["agent"]) == (
        "codex",
        "gpt-5",
        "demo",
    )
