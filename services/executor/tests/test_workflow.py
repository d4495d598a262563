"""AgentExecutionWorkflow on Temporal's time-skipping test server, with every real activity against
the GitHub emulator, a real NATS JetStream and a real PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from paid_contracts import IssueRef, RepoRef, RunOutcome
from paid_executor import repo
from paid_executor.params import ExecutionInput
from paid_executor.subscribers import start_execution
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.database import session_factory

from .conftest import FIXED_CALC, ISSUE_WITH_FIX, TOKEN
from .loop_support import run_to_end, start_run

HISTORIES = Path(__file__).parent / "histories"


def request_for(repo_ref: RepoRef, number: int) -> ExecutionInput:
    return ExecutionInput(
        issue=IssueRef(repo=repo_ref, number=number),
        source="webhook",
        source_id=str(uuid.uuid4()),
        label="paid-build",
        actor="alice",
        agent="demo",
        agent_timeout_seconds=120,
    )


async def run_events(broker: NatsBroker, run_id: str) -> dict[str, dict[str, Any]]:
    """Every event of the run in the PAID_RUN stream, by type."""
    js = broker.connection.jetstream()
    info = await js.stream_info("PAID_RUN")
    found: dict[str, dict[str, Any]] = {}
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg("PAID_RUN", seq)
        event = json.loads(message.data or b"{}")
        if event.get("run_id") == run_id:
            # Output comes in as many batches as it takes; every other event is published once.
            once = event["type"] != "paid.run.output_appended"
            assert not (once and event["type"] in found), f"{event['type']} published twice"
            found[event["type"]] = event
    return found


def scheduled_before_closed(history: WorkflowHistory, later: str, earlier: str) -> bool:
    """Whether activity `later` was scheduled before activity `earlier` (scheduled first) completed."""
    scheduled: dict[int, str] = {}
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = name
            if name == later:
                return True
        elif (
            event.HasField("activity_task_completed_event_attributes")
            and scheduled.get(event.activity_task_completed_event_attributes.scheduled_event_id) == earlier
        ):
            return False
    raise AssertionError(f"neither {later} scheduled nor {earlier} completed")


def in_order(history: WorkflowHistory) -> list[str]:
    """The activities as the workflow's commands recorded them: `local:<type>` for a local activity's
    marker, the type for a scheduled activity."""
    names: list[str] = []
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            names.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif event.marker_recorded_event_attributes.marker_name == "core_local_activity":
            data = event.marker_recorded_event_attributes.details["data"].payloads[0].data
            names.append(f"local:{json.loads(data)['activity_type']}")
    return names


async def test_issue_with_a_diff_becomes_one_pull_request(
    env: WorkflowEnvironment,
    worker: Worker,
    emulator: GitHubEmulator,
    calc_repo: RepoRef,
    broker: NatsBroker,
    engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    emulator.create_issue(
        "alice", calc_repo.name, title="add() subtracts", body=ISSUE_WITH_FIX, as_user="alice"
    )
    request = request_for(calc_repo, 1)

    result = await run_to_end(env.client, request, worker.task_queue)

    assert result.outcome is RunOutcome.SUCCEEDED
    pulls = emulator.pulls("alice", calc_repo.name)
    assert len(pulls) == 1
    pull = pulls[0]
    assert pull["head"]["ref"] == "paid/issue-1"
    assert pull["base"]["ref"] == "main"
    assert f"<!-- paid:run={result.run_id} -->" in pull["body"]
    assert "Closes #1" in pull["body"]
    assert "demo agent" in pull["body"]
    assert pull["html_url"] == result.pull_request_url
    assert emulator.file_content("alice", calc_repo.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    assert_tests_pass_on_branch(emulator, calc_repo.name, tmp_path / "check", "paid/issue-1")

    comments = emulator.comments("alice", calc_repo.name, 1)
    assert len(comments) == 1
    assert f"<!-- paid:run={result.run_id}:result -->" in comments[0]["body"]
    assert pull["html_url"] in comments[0]["body"]
    assert "demo agent" in comments[0]["body"]

    events = await run_events(broker, result.run_id)
    assert set(events) == {
        "paid.run.started",
        "paid.run.output_appended",  # the demo agent's output, for live tails
        "paid.run.pull_request_opened",
        "paid.run.finished",
    }
    assert events["paid.run.output_appended"]["event_id"].startswith(f"{result.run_id}:output:iteration-1:1:")
    assert events["paid.run.started"]["event_id"] == f"{result.run_id}:started"
    assert events["paid.run.pull_request_opened"]["event_id"] == f"{result.run_id}:pr"
    finished = events["paid.run.finished"]
    assert finished["event_id"] == f"{result.run_id}:finished"
    assert finished["outcome"] == "succeeded"
    assert finished["pull_request_number"] == pull["number"]
    assert finished["iterations"] == 1
    assert finished["agent"] == "demo"
    assert finished["prompt_version"] == "coding@1"
    assert finished["input_tokens"] == 0
    assert finished["cost_usd"] == 0.0

    async with session_factory(engine)() as session:
        row = await repo.get_run(session, run_id=result.run_id)
    assert row is not None
    assert row.status == "succeeded"
    assert row.branch == "paid/issue-1"
    assert row.pull_request_url == pull["html_url"]
    assert row.finished_at is not None

    history = await env.client.get_workflow_handle(workflow_id_for(request.issue)).fetch_history()
    # The issue is read as a local activity after admission (no activity of its own), before the
    # worktree is prepared; the bookkeeping that need not precede the agent runs alongside: the start
    # record and the prompt while the worktree is prepared (each pair scheduled before either closes).
    # (Whether one workflow task holds them all depends on the load: a slow local activity's task is
    # completed early and the activity goes on.)
    activities = in_order(history)
    assert activities[0] == "local:admit_run"
    assert "fetch_issue" not in activities
    assert activities.index("local:fetch_issue") < activities.index("prepare_workspace")
    assert activities.index("prepare_workspace") < activities.index("run_iteration")
    assert activities.index("start_run") < activities.index("local:fetch_issue")  # not awaited first
    assert scheduled_before_closed(history, "prepare_workspace", "render_prompt")
    if os.environ.get("PAID_RECORD_HISTORIES"):
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / "succeeded_fetch_local.json").write_text(history.to_json())

    # The same request again (a redelivered event): the finished workflow is not started anew.
    assert await start_execution(env.client, request, task_queue=worker.task_queue) is None
    assert len(emulator.pulls("alice", calc_repo.name)) == 1
    assert len(emulator.comments("alice", calc_repo.name, 1)) == 1


async def test_a_second_run_on_the_same_issue_reuses_the_open_pull_request(
    env: WorkflowEnvironment, worker: Worker, emulator: GitHubEmulator, calc_repo: RepoRef
) -> None:
    emulator.create_issue(
        "alice", calc_repo.name, title="add() subtracts", body=ISSUE_WITH_FIX, as_user="alice"
    )
    request = request_for(calc_repo, 1)
    first = await run_to_end(env.client, request, worker.task_queue)
    fetched_before = upload_packs(emulator)

    # Another execution of the same issue under another id, as a retried or re-requested run would be.
    second = await env.client.execute_workflow(
        AgentExecutionWorkflow.run,
        request,
        id=f"{workflow_id_for(request.issue)}:again",
        task_queue=worker.task_queue,
    )

    pulls = emulator.pulls("alice", calc_repo.name)
    assert len(pulls) == 1
    assert second.outcome is RunOutcome.SUCCEEDED
    assert second.pull_request_number == first.pull_request_number
    # The default branch has not moved: the host's mirror holds the base GitHub reported, so the
    # second run's tree came without a fetch.
    assert upload_packs(emulator) == fetched_before


def upload_packs(emulator: GitHubEmulator) -> int:
    return sum("git-upload-pack" in record.path for record in emulator.access_log())


async def test_an_issue_without_a_diff_ends_in_error_with_a_comment_and_no_pull_request(
    env: WorkflowEnvironment, worker: Worker, emulator: GitHubEmulator, calc_repo: RepoRef, broker: NatsBroker
) -> None:
    emulator.create_issue(
        "alice", calc_repo.name, title="add() subtracts", body="Please fix it.", as_user="alice"
    )
    request = request_for(calc_repo, 1)
    handle = await start_run(env.client, request, worker.task_queue)
    run_id = handle.run_id

    with pytest.raises(WorkflowFailureError):
        await handle.result()

    assert emulator.pulls("alice", calc_repo.name) == []
    comments = emulator.comments("alice", calc_repo.name, 1)
    assert len(comments) == 1
    assert "no ```diff block" in comments[0]["body"]
    assert f"paid:run={run_id}:result" in comments[0]["body"]
    finished = (await run_events(broker, run_id))["paid.run.finished"]
    assert finished["outcome"] == "error"
    assert "no ```diff block" in finished["detail"]
    assert finished["pull_request_url"] is None

    # The same request again (redelivered) starts nothing; a new request starts attempt 2.
    assert await start_execution(env.client, request, task_queue=worker.task_queue) is None
    retried = request.model_copy(update={"source_id": str(uuid.uuid4())})
    second = await start_execution(env.client, retried, task_queue=worker.task_queue)
    assert second not in (None, run_id)
    described = await env.client.get_workflow_handle(workflow_id_for(request.issue, 2)).describe()
    assert described.run_id == second


def assert_tests_pass_on_branch(emulator: GitHubEmulator, repo_name: str, into: Path, branch: str) -> None:
    subprocess.run(
        [
            "git",
            "clone",
            "--quiet",
            "--branch",
            branch,
            emulator.git_url("alice", repo_name, TOKEN),
            str(into),
        ],
        check=True,
        capture_output=True,
    )
    check = "import test_calc; test_calc.test_add()"
    subprocess.run([sys.executable, "-c", check], cwd=into, check=True, capture_output=True)


@pytest.mark.parametrize("recorded", sorted(HISTORIES.glob("*.json")), ids=lambda path: path.stem)
async def test_recorded_histories_still_replay(recorded: Path) -> None:
    """Fails when a change to the workflow would break executions already running.

    Re-record (after a deliberate, versioned change) with PAID_RECORD_HISTORIES=1.
    """
    history = WorkflowHistory.from_json("recorded", recorded.read_text())
    replayer = Replayer(workflows=[AgentExecutionWorkflow], data_converter=pydantic_data_converter)

    await replayer.replay_workflow(history)
