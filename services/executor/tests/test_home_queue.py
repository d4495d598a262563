"""Per-worker task queues on Temporal's time-skipping server, with every real activity, real git, the
GitHub emulator, NATS and PostgreSQL: a run whose worktree's worker is lost moves to a fresh clone on
another worker and still ends in exactly one pull request; a run that keeps losing it fails honestly.

The lost worker is a real one that cloned the worktree and then stopped, taking its home queue with it:
its prepare_workspace answers with a home queue that no process polls any more."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from faststream.nats import NatsBroker
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from paid_contracts import RepoRef, RunOutcome
from paid_contracts.workflow_ids import ExecutionSignal
from paid_executor.activities import ExecutorDeps
from paid_executor.run_limits import MAX_REHOMES
from paid_executor.subscribers import start_execution
from paid_executor.worker import make_worker
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for
from paid_github_emulator.server import GitHubEmulator

from .conftest import FIXED_CALC
from .home_support import activity_events, calc_fix_request, lost_worker, signals, started_on, until_iteration
from .test_workflow import HISTORIES, run_events


async def test_a_run_whose_worker_is_gone_moves_at_once_to_another_and_opens_one_pull_request(
    env: WorkflowEnvironment,
    homed_deps: ExecutorDeps,
    emulator: GitHubEmulator,
    calc_repo: RepoRef,
    broker: NatsBroker,
) -> None:
    """The lost worker's home has no NATS subscription (its process is gone): the survivor's LostHomes
    signals the run, which moves on that signal. The heartbeat and home-start timeouts are an hour, and
    the clock is never skipped before the move, so neither timeout can be what moved it."""
    request = calc_fix_request(
        emulator, calc_repo, heartbeat_timeout_seconds=3600, home_start_timeout_seconds=3600
    )
    workflow_id = workflow_id_for(request.issue)
    shared = homed_deps.settings.task_queue

    async with lost_worker(env.client, homed_deps) as lost_home:
        run_id = await start_execution(env.client, request, task_queue=shared)
        assert run_id is not None
        # The time-skipping server moves its clock only while a result is awaited: not yet.
        await until_iteration(env.client, workflow_id, lost_home, "pending", what="the first clone")
    # The worker that cloned is gone; another takes the run when it moves.
    async with make_worker(env.client, homed_deps) as survivor:
        home = survivor.home_queue
        # Polled, not awaited as a result: the clock stays put, so only the signal can move the run.
        await until_iteration(env.client, workflow_id, home, "completed", what="the run to move")
        handle = env.client.get_workflow_handle_for(AgentExecutionWorkflow.run, workflow_id, run_id=run_id)
        result = await handle.result()
    assert survivor.lost_homes.signalled == [(lost_home, workflow_id)]

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    events = await activity_events(env.client, workflow_id)
    assert started_on(events, "prepare_workspace") == [(shared, "completed"), (shared, "completed")]
    assert started_on(events, "run_iteration") == [(lost_home, "cancelled"), (home, "completed")]
    assert started_on(events, "publish_change") == [(home, "completed")]
    assert started_on(events, "cleanup_workspace") == [(home, "completed")]

    pulls = emulator.pulls("alice", calc_repo.name)
    assert len(pulls) == 1
    assert pulls[0]["number"] == result.pull_request_number
    assert emulator.file_content("alice", calc_repo.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    [comment] = emulator.comments("alice", calc_repo.name, 1)  # the progress note, then the result
    assert pulls[0]["html_url"] in comment["body"]
    assert await signals(env.client, workflow_id) == [(ExecutionSignal.HOME_LOST, lost_home)]
    finished = (await run_events(broker, result.run_id))["paid.run.finished"]
    assert finished["outcome"] == "succeeded"
    assert finished["iterations"] == 1

    if os.environ.get("PAID_RECORD_HISTORIES"):
        history = await env.client.get_workflow_handle(workflow_id).fetch_history()
        (HISTORIES / "rehomed_move_alongside.json").write_text(history.to_json())


# Heavy: one move is in the default run (test_a_run_whose_worker_is_lost_moves_to_another...).
@pytest.mark.heavy
async def test_a_run_that_keeps_losing_its_worker_fails_with_an_honest_comment(
    env: WorkflowEnvironment,
    homed_deps: ExecutorDeps,
    emulator: GitHubEmulator,
    calc_repo: RepoRef,
    broker: NatsBroker,
) -> None:
    request = calc_fix_request(emulator, calc_repo, home_start_timeout_seconds=15)
    workflow_id = workflow_id_for(request.issue)

    async with lost_worker(env.client, homed_deps) as lost_home:
        run_id = await start_execution(env.client, request, task_queue=homed_deps.settings.task_queue)
        assert run_id is not None
        with pytest.raises(WorkflowFailureError):
            await env.client.get_workflow_handle(workflow_id, run_id=run_id).result()

    events = await activity_events(env.client, workflow_id)
    moves = MAX_REHOMES + 1
    assert Counter(started_on(events, "prepare_workspace")) == {
        (homed_deps.settings.task_queue, "completed"): moves
    }
    assert started_on(events, "run_iteration") == [(lost_home, "timed out")] * moves
    assert started_on(events, "publish_change") == []
    assert emulator.pulls("alice", calc_repo.name) == []
    [comment] = emulator.comments("alice", calc_repo.name, 1)
    detail = f"was lost {moves} times, more than the {MAX_REHOMES} moves a run may make"
    assert detail in comment["body"]
    assert f"run_iteration waited 15 s on {lost_home} and no worker took it" in comment["body"]
    finished = (await run_events(broker, run_id))["paid.run.finished"]
    assert finished["outcome"] == "error"
    assert detail in finished["detail"]
