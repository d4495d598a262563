"""The home-lost path against its adversaries, with real activities, git, NATS and PostgreSQL on
Temporal's time-skipping server (its clock is never advanced before the end: only signals act):

- a home whose process still holds its NATS connection (starved or stopped) is probed again and again
  and its run is never moved; once that connection closes, the run moves and ends in one pull request;
- a `home_lost` signal for a home that is in fact alive and running the agent (a home taken for gone
  that comes back, or a forged signal) moves the run without running it twice: the lost attempt is
  cancelled and its agent killed, and there is exactly one pull request and one result comment."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from paid_contracts import RepoRef, RunOutcome
from paid_contracts.workflow_ids import ExecutionSignal
from paid_devstack.waiting import wait_until_async
from paid_executor.activities import ExecutorDeps
from paid_executor.liveness import PROBE_INTERVAL_SECONDS, RECONNECT_SETTLE_SECONDS, answer_for
from paid_executor.subscribers import start_execution
from paid_executor.worker import make_worker
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for
from paid_github_emulator.server import GitHubEmulator

from .conftest import FIXED_CALC
from .home_support import activity_events, calc_fix_request, lost_worker, signals, started_on, until_iteration
from .loop_support import loop_request, loop_worker, script_agent, start_run
from .test_fix_forward import make_repo, only_comment

HOUR = 3600  # heartbeat and home-start timeouts: neither may be what moves a run here
# The lost attempt's agent is killed by the move's prepare_workspace (same process here) or by the
# cancellation, whichever comes first.
ENDED_BY_THE_MOVE = ("cancelled", "failed")
# Probes for 8 s, past liveness' 5 s settle time
PROBES_OF_A_LIVE_HOME = int((RECONNECT_SETTLE_SECONDS + 3) / PROBE_INTERVAL_SECONDS)


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# Heavy, as is the next: the default run moves a run on the signal in test_home_queue.
@pytest.mark.heavy
async def test_a_home_that_holds_its_connection_is_never_moved_and_one_that_loses_it_is(
    env: WorkflowEnvironment,
    homed_deps: ExecutorDeps,
    emulator: GitHubEmulator,
    calc_repo: RepoRef,
    broker: NatsBroker,
) -> None:
    request = calc_fix_request(
        emulator, calc_repo, heartbeat_timeout_seconds=HOUR, home_start_timeout_seconds=HOUR
    )
    workflow_id = workflow_id_for(request.issue)
    answering: asyncio.Task[None] | None = None
    try:
        async with lost_worker(env.client, homed_deps) as starved_home:
            # Its process answers on NATS but takes no task: as a starved or stopped (SIGSTOP) one does.
            answering = asyncio.create_task(answer_for(broker, starved_home))
            run_id = await start_execution(env.client, request, task_queue=homed_deps.settings.task_queue)
            await until_iteration(env.client, workflow_id, starved_home, "pending", what="the first clone")
        async with make_worker(env.client, homed_deps) as survivor:

            async def probed_many_times() -> bool:
                return survivor.lost_homes.probes.get(starved_home, 0) >= PROBES_OF_A_LIVE_HOME

            await wait_until_async(probed_many_times, timeout=120, what="the survivor to probe the home")
            assert survivor.lost_homes.signalled == []
            assert await signals(env.client, workflow_id) == []
            assert started_on(await activity_events(env.client, workflow_id), "run_iteration") == [
                (starved_home, "pending")
            ]
            await stop(answering)  # its connection closes: now it is gone
            await until_iteration(
                env.client, workflow_id, survivor.home_queue, "completed", what="the move once it was gone"
            )
            handle = env.client.get_workflow_handle_for(
                AgentExecutionWorkflow.run, workflow_id, run_id=run_id
            )
            result = await handle.result()
    finally:
        if answering is not None:
            await stop(answering)

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    assert await signals(env.client, workflow_id) == [(ExecutionSignal.HOME_LOST, starved_home)]
    assert len(emulator.pulls("alice", calc_repo.name)) == 1


@pytest.mark.heavy
async def test_a_home_lost_signal_for_a_live_home_moves_the_run_without_running_it_twice(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\n")
    starts, gate = tmp_path / "starts", tmp_path / "gate"
    starts.mkdir()
    # Each attempt records its pid, then waits for the gate before it fixes calc.py.
    agent = script_agent(
        tmp_path / "agent.py",
        f"pathlib.Path({str(starts)!r}, str(os.getpid())).touch()\n"
        "import time\n"
        f"while not pathlib.Path({str(gate)!r}).exists():\n    time.sleep(0.05)\n"
        f"pathlib.Path('calc.py').write_text({FIXED_CALC!r})",
    )
    task_queue = f"executor-home-lost-{uuid.uuid4()}"
    async with loop_worker(
        env, emulator, engine, broker, tmp_path / "ws", agent_command=agent, task_queue=task_queue
    ) as worker:
        request = loop_request(repo_ref, heartbeat_timeout_seconds=HOUR, home_start_timeout_seconds=HOUR)
        workflow_id = workflow_id_for(request.issue)
        handle = await start_run(env.client, request, task_queue)

        async def agents_started(count: int) -> bool:
            return len(list(starts.iterdir())) >= count

        await wait_until_async(lambda: agents_started(1), timeout=60, what="the first agent")
        [first] = [int(path.name) for path in starts.iterdir()]
        await handle.signal(AgentExecutionWorkflow.home_lost, worker.home_queue)
        await wait_until_async(lambda: agents_started(2), timeout=60, what="the moved run's agent")

        async def first_agent_killed() -> bool:
            return not Path(f"/proc/{first}").exists()

        await wait_until_async(first_agent_killed, timeout=60, what="the lost attempt's agent to be killed")

        async def lost_attempt_ended() -> bool:
            events = started_on(await activity_events(env.client, workflow_id), "run_iteration")
            return events[0][1] in ENDED_BY_THE_MOVE

        await wait_until_async(lost_attempt_ended, timeout=60, what="the lost attempt to end")
        gate.touch()
        result = await handle.result()

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    home = worker.home_queue
    events = await activity_events(env.client, workflow_id)
    [(lost, how_it_ended), moved] = started_on(events, "run_iteration")
    assert (lost, moved) == (home, (home, "completed"))
    assert how_it_ended in ENDED_BY_THE_MOVE
    assert started_on(events, "publish_change") == [(home, "completed")]
    assert len(emulator.pulls("alice", repo_ref.name)) == 1
    assert emulator.file_content("alice", repo_ref.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    assert result.pull_request_number is not None
    assert f"#{result.pull_request_number}" in only_comment(emulator, repo_ref)
