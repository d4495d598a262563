"""Executor killed mid-run -> run resumed: SIGKILL the executor while its agent runs and time until the
agent runs again, then until the PR.

Default (one executor): the executor is started again at once; the run resumes on the new process.
`--replicas 2`: a second executor runs beside the first; the one running the agent (read from Temporal:
the pending run_iteration's worker identity, `pid@host`) is killed and not restarted until the run is
done, so the run resumes on the survivor.

Either way the run's worktree was on the killed process: the surviving (or restarted) executor sees
that process's NATS connection gone and signals the run, which moves to a fresh worktree at once
(paid_executor.lost_homes). The heartbeat and home-start timeouts are only the fallback; they default to
compose's 30 s here, so a figure near them means the liveness path did not act.

`--hold N --burners K`: after the kills, N runs whose agents sleep are held on the executors while K
busy-looping processes starve the CPU for `--window` seconds; every move of a held run then is spurious
(its process is alive), and their count is printed. Prints `name value unit`.
Usage: bench/executor_failover.py [--runs N] [--replicas 1|2] [--hold N --burners K --window S]
    [--heartbeat-timeout S] [--home-start-timeout S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from failover_hops import describe_hops, history_stamps, home_seen_gone_at, nats_closed_at, print_hops
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client

from paid_contracts.workflow_ids import execution_workflow_id
from paid_devstack import wait_until
from paid_devstack.demo_repo import DemoIssue
from paid_devstack.ports import free_port
from paid_devstack.sandbox import EmulatedPaid
from paid_devstack.supervisor import ServiceSpec

STAMP_AGENT = Path(__file__).parent / "agents" / "stamp_agent.sh"
REPLICAS = ("executor", "executor-2")
HELD = "held-"  # repositories whose runs' agents sleep until the bench ends
BURNER = "while True: pass"


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
            ready_timeout=300,  # a loaded machine
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


async def moves(client: Client, issue: DemoIssue) -> int:
    """How many times the issue's run moved: worktrees prepared after the first."""
    handle = client.get_workflow_handle(execution_workflow_id(f"{issue.owner}/{issue.repo}", issue.number))
    prepared = 0
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activity = event.activity_task_scheduled_event_attributes.activity_type.name
            prepared += activity == "prepare_workspace"
    return max(prepared - 1, 0)


def stop_held_agents(pids: Path) -> None:
    for line in pids.read_text().splitlines():
        with contextlib.suppress(OSError):
            if Path(f"/proc/{line}/cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", b"3600"]:
                os.kill(int(line), signal.SIGKILL)


def hold_under_load(paid: EmulatedPaid, client: Client, args: argparse.Namespace, pids: Path) -> int:
    """Holds `args.hold` runs, starves the CPU for `args.window` s, and returns how many held runs moved."""
    held = [paid.create_repository("bench", f"{HELD}{i}") for i in range(args.hold)]
    for issue in held:
        paid.label(issue)
    wait_until(lambda: len(pids.read_text().splitlines()) >= args.hold, timeout=600, what="every held agent")
    burners = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(args.burners)]
    try:
        time.sleep(args.window)  # the load's length: any move meanwhile is spurious
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()

    async def count() -> int:
        return sum([await moves(client, issue) for issue in held])

    return asyncio.run(count())


def hop_stamps(
    paid: EmulatedPaid,
    client: Client,
    issue: DemoIssue,
    survivor: str,
    killed_at: float,
    stamps: Path,
    seen: int,
) -> dict[str, float]:
    """The wall-clock time of each hop of this run's failover (failover_hops.py)."""
    workflow_id = execution_workflow_id(f"{issue.owner}/{issue.repo}", issue.number)
    found = asyncio.run(history_stamps(client, workflow_id))
    nats = paid.platform.infra.nats
    if nats is not None and (closed := nats_closed_at(nats.monitor_url, killed_at)) is not None:
        found["nats_closed"] = closed
    if (gone := home_seen_gone_at(paid.platform.log_path(survivor), killed_at)) is not None:
        found["home_seen_gone"] = gone
    found["agent_started"] = float(stamps.read_text().splitlines()[seen + 1].split()[0])
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--replicas", type=int, choices=(1, 2), default=1)
    parser.add_argument("--hold", type=int, default=0)
    parser.add_argument("--burners", type=int, default=4)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--heartbeat-timeout", type=float, default=30.0)
    parser.add_argument("--home-start-timeout", type=float, default=30.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="paid-bench-failover-"))
    stamps = home / "agent-starts.txt"
    stamps.touch()
    held_pids = home / "held-agents.txt"
    held_pids.touch()
    demo = Path(sys.executable).parent / "paid-demo-agent"
    hold = f'if grep -q bench/{HELD} "$PAID_PROMPT_FILE"; then echo $$ >> {held_pids}; exec sleep 3600; fi'
    executor_env = {
        "PAID_EXECUTOR_AGENT": "command",
        # a held run's agent sleeps; any other stamps its start, holds the run for 5 s (the window to
        # kill in), then makes the change
        "PAID_EXECUTOR_AGENT_COMMAND": f"sh -c '{hold}; sh {STAMP_AGENT} {stamps}; sleep 5; exec {demo}'",
        "PAID_EXECUTOR_HEARTBEAT_TIMEOUT_SECONDS": str(args.heartbeat_timeout),
        # The agent stamps a file outside its worktree, which a sandbox (bwrap, the default) refuses.
        "PAID_EXECUTOR_SANDBOX": "none",
        "PAID_EXECUTOR_HOME_START_TIMEOUT_SECONDS": str(args.home_start_timeout),
        "PAID_EXECUTOR_MAX_RUNNING_RUNS": str(args.hold + 10),
        "PAID_EXECUTOR_MAX_RUNNING_RUNS_PER_PROJECT": str(args.hold + 10),
        "PAID_EXECUTOR_MAX_RUNNING_RUNS_PER_PROVIDER": str(args.hold + 10),
    }
    resumed: list[float] = []
    finished: list[float] = []
    restarted: list[float] = []
    moved: list[int] = []
    hops: list[dict[str, float]] = []
    killed_at: list[float] = []
    spurious: int | None = None
    try:
        with EmulatedPaid(home / "paid", service_env={"executor": executor_env}) as paid:
            client = asyncio.run(Client.connect(paid.platform.infra.endpoints.temporal_target))
            # A restart may take minutes on a loaded machine (the default allows 60 s).
            supervisor = paid.platform.supervisor
            supervisor._specs["executor"] = replace(supervisor._specs["executor"], ready_timeout=300)
            if args.replicas == 2:
                launch_second_executor(paid)
            for run in range(args.runs):
                issue = paid.create_repository("bench", f"failover-{run}")
                seen = len(stamps.read_text().splitlines())
                paid.label(issue)
                wait_until(
                    lambda s=seen: len(stamps.read_text().splitlines()) > s,  # type: ignore[misc]
                    timeout=60,
                    what="the agent",
                )
                victim = "executor" if args.replicas == 1 else replica_running_the_agent(paid, client, issue)
                killed = time.monotonic()
                killed_at.append(time.time())
                paid.platform.kill(victim)
                if args.replicas == 1:
                    paid.platform.start_service(victim)
                    restarted.append(time.monotonic() - killed)
                wait_until(
                    lambda s=seen: len(stamps.read_text().splitlines()) > s + 1,  # type: ignore[misc]
                    timeout=180,
                    what="the agent started again on a live executor",
                )
                resumed.append(time.monotonic() - killed)
                print(
                    f"# run {run}: killed {victim}, agent resumed after {resumed[-1]:.2f} s", file=sys.stderr
                )
                paid.wait_for_pull(issue, timeout=180)
                finished.append(time.monotonic() - killed)
                assert len(paid.pulls(issue)) == 1
                moved.append(asyncio.run(moves(client, issue)))
                survivor = victim if args.replicas == 1 else next(r for r in REPLICAS if r != victim)
                hops.append(hop_stamps(paid, client, issue, survivor, killed_at[-1], stamps, seen))
                hop_line = describe_hops(hops[-1], killed_at[-1])
                print(f"# run {run}, s since the kill: {hop_line}", file=sys.stderr)
                if args.replicas == 2:
                    paid.platform.start_service(victim)  # two replicas again for the next run
            if args.hold:  # after the kills, which would move the held runs of the killed process
                spurious = hold_under_load(paid, client, args, held_pids)
                print(f"# {args.hold} held runs under load: {spurious} moved", file=sys.stderr)
    finally:
        stop_held_agents(held_pids)
    mode = "" if args.replicas == 1 else f"{{replicas={args.replicas}}}"  # one: the names as before
    print(f"executor_failover_heartbeat_timeout{mode} {args.heartbeat_timeout:.1f} s")
    print(f"executor_failover_home_start_timeout{mode} {args.home_start_timeout:.1f} s")
    if restarted:
        print(f"executor_kill_to_restarted_and_ready_p50{mode} {statistics.median(restarted):.1f} s")
    print(f"executor_kill_to_agent_resumed_p50{mode} {statistics.median(resumed):.2f} s")
    print(f"executor_kill_to_agent_resumed_max{mode} {max(resumed):.2f} s")
    print(f"executor_kill_to_pull_request_p50{mode} {statistics.median(finished):.1f} s")
    print(f"executor_failover_moves_per_killed_run_max{mode} {max(moved)} moves")
    print_hops(f"executor_failover{mode}", hops, killed_at)
    if spurious is not None:
        print(f"executor_failover_held_runs{mode} {args.hold} runs")
        print(f"executor_failover_load{mode} {args.burners} busy-loop processes for {args.window:g} s")
        print(f"executor_failover_spurious_moves{mode} {spurious} moves")


if __name__ == "__main__":
    main()
