"""Executor killed mid-run -> run resumed: SIGKILL the executor while its agent runs, start it again at
once, and time until the agent runs again (the activity's retry on the new process), then until the PR.

The resume time is bounded below by the activity's heartbeat timeout (how soon Temporal declares the
dead worker's attempt lost); the figure is printed with the timeout used. Prints `name value unit`.
Usage: bench/executor_failover.py [--runs N] [--heartbeat-timeout S]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from paid_devstack import wait_until
from paid_devstack.sandbox import EmulatedPaid

STAMP_AGENT = Path(__file__).parent / "agents" / "stamp_agent.sh"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--heartbeat-timeout", type=float, default=1.0)
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
    }
    resumed: list[float] = []
    finished: list[float] = []
    restarted: list[float] = []
    with EmulatedPaid(home / "paid", service_env={"executor": executor_env}) as paid:
        for run in range(args.runs):
            issue = paid.create_repository("bench", f"failover-{run}")
            seen = len(stamps.read_text().splitlines())
            paid.label(issue)
            wait_until(lambda s=seen: len(stamps.read_text().splitlines()) > s, timeout=60, what="the agent")  # type: ignore[misc]
            killed = time.monotonic()
            paid.platform.kill("executor")
            paid.platform.start_service("executor")
            restarted.append(time.monotonic() - killed)
            wait_until(
                lambda s=seen: len(stamps.read_text().splitlines()) > s + 1,  # type: ignore[misc]
                timeout=60,
                what="the agent started again by the restarted executor",
            )
            resumed.append(time.monotonic() - killed)
            paid.wait_for_pull(issue, timeout=60)
            finished.append(time.monotonic() - killed)
            assert len(paid.pulls(issue)) == 1
    print(f"executor_failover_heartbeat_timeout {args.heartbeat_timeout:.1f} s")
    print(f"executor_kill_to_restarted_and_ready_p50 {statistics.median(restarted):.1f} s")
    print(f"executor_kill_to_agent_resumed_p50 {statistics.median(resumed):.1f} s")
    print(f"executor_kill_to_agent_resumed_max {max(resumed):.1f} s")
    print(f"executor_kill_to_pull_request_p50 {statistics.median(finished):.1f} s")


if __name__ == "__main__":
    main()
