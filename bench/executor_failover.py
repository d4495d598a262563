"""Executor killed mid-run -> run resumed: SIGKILL the executor while its agent runs and time until the
agent runs again, then until the PR.

Default (one executor): the executor is started again at once; the run resumes on the new process.
`--replicas 2`: a second executor runs beside the first; the one running the agent (read from Temporal:
the pending run_iteration's worker identity, `pid@host`) is killed and not restarted until the run is
done, so the run resumes on the survivor.

Either way the run's worktree was on the killed process, so the resume time is bounded below by the
activity's heartbeat timeout (how soon Temporal declares the dead worker's attempt lost) plus the home
queue's schedule-to-start timeout (how soon the run is moved to a fresh clone on a live process); both
are printed with the figures. Prints `name value unit`.
Usage: bench/executor_failover.py [--runs N] [--replicas 1|2] [--heartbeat-timeout S] [--home-start-timeout S]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client

from paid_contracts.workflow_ids import execution_workflow_id
from paid_devstack import wait_until
from paid_devstack.demo_repo import DemoIssue
from paid_devstack.ports import free_port
from paid_devstack.sandbox import EmulatedPaid
from paid_devstack.supervisor import ServiceSpec

STAMP_AGENT = Path(__file__).parent / "agents" / "stamp_agent.sh"
REPLICAS = ("executor", "executor-2")


def launch_second_executor(paid: EmulatedPaid) -> None:
    """The same executor again, on its own HTTP port: another replica of the shared task queue."""
    first = paid.platform.supervisor.process("executor")
    port = free_port()
    paid.platform.supervisor.launch(
        ServiceSpec(
            name=REPLICAS[1],
            argv=list(first.argv),
            env={**first.env, "PAID_EXECUTOR_HTTP_PORT": str(port)},
            health_url=f"http://127.0.0.1:{port}/readyz",
        )
    )


async def agent_worker_pid(client: Client, issue: DemoIssue) -> int | None:
    """The pid of the executor whose run_iteration is running the agent of the issue's run."""
    handle = client.get_workflow_handle(execution_workflow_id(f"{issue.owner}/{issue.repo}", issue.number))
    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        if (
            pending.activity_type.name == "run_iteration"
            and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        ):
            return int(pending.last_worker_identity.partition("@")[0])
    return None


def replica_running_the_agent(paid: EmulatedPaid, client: Client, issue: DemoIssue) -> str:
    found: list[str] = []

    def known() -> bool:
        pid = asyncio.run(agent_worker_pid(client, issue))
        found[:] = [name for name in REPLICAS if paid.platform.supervisor.process(name).pid == pid]
        return bool(found)

    wait_until(known, timeout=30, what="Temporal to name the executor running the agent")
    return found[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--replicas", type=int, choices=(1, 2), default=1)
    parser.add_argument("--heartbeat-timeout", type=float, default=1.0)
    parser.add_argument("--home-start-timeout", type=float, default=2.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="paid-bench-failover-"))
    stamps = home / "agent-starts.txt"
    stamps.touch()
    demo = Path(sys.executable).parent / "paid-demo-agent"
    executor_env = {
        "PAID_EXECUTOR_AGENT": "command",
        # stamps its start, holds the run for 5 s (the window to kill in), then makes the change
        "PAID_EXECUTOR_AGENT_COMMAND": f"sh -c 'sh {STAMP_AGENT} {stamps}; sleep 5; exec {demo}'",
        "PAID_EXECUTOR_HEARTBEAT_TIMEOUT_SECONDS": str(args.heartbeat_timeout),
        # The agent stamps a file outside its worktree, which a sandbox (bwrap, the default) refuses.
        "PAID_EXECUTOR_SANDBOX": "none",
        "PAID_EXECUTOR_HOME_START_TIMEOUT_SECONDS": str(args.home_start_timeout),
    }
    resumed: list[float] = []
    finished: list[float] = []
    restarted: list[float] = []
    with EmulatedPaid(home / "paid", service_env={"executor": executor_env}) as paid:
        client: Client | None = None
        if args.replicas == 2:
            launch_second_executor(paid)
            client = asyncio.run(Client.connect(paid.platform.infra.endpoints.temporal_target))
        for run in range(args.runs):
            issue = paid.create_repository("bench", f"failover-{run}")
            seen = len(stamps.read_text().splitlines())
            paid.label(issue)
            wait_until(lambda s=seen: len(stamps.read_text().splitlines()) > s, timeout=60, what="the agent")  # type: ignore[misc]
            victim = "executor" if client is None else replica_running_the_agent(paid, client, issue)
            killed = time.monotonic()
            paid.platform.kill(victim)
            if client is None:
                paid.platform.start_service(victim)
                restarted.append(time.monotonic() - killed)
            wait_until(
                lambda s=seen: len(stamps.read_text().splitlines()) > s + 1,  # type: ignore[misc]
                timeout=90,
                what="the agent started again on a live executor",
            )
            resumed.append(time.monotonic() - killed)
            paid.wait_for_pull(issue, timeout=90)
            finished.append(time.monotonic() - killed)
            assert len(paid.pulls(issue)) == 1
            if client is not None:
                paid.platform.start_service(victim)  # two replicas again for the next run
    mode = "" if args.replicas == 1 else f"{{replicas={args.replicas}}}"  # one: the names as before
    print(f"executor_failover_heartbeat_timeout{mode} {args.heartbeat_timeout:.1f} s")
    print(f"executor_failover_home_start_timeout{mode} {args.home_start_timeout:.1f} s")
    if restarted:
        print(f"executor_kill_to_restarted_and_ready_p50{mode} {statistics.median(restarted):.1f} s")
    print(f"executor_kill_to_agent_resumed_p50{mode} {statistics.median(resumed):.1f} s")
    print(f"executor_kill_to_agent_resumed_max{mode} {max(resumed):.1f} s")
    print(f"executor_kill_to_pull_request_p50{mode} {statistics.median(finished):.1f} s")


if __name__ == "__main__":
    main()
