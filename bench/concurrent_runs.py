"""How many long-running runs one executor worker holds at once, and its memory.

One `paid-executor` process (one Temporal worker) against real Temporal, NATS, PostgreSQL and the
GitHub emulator; N issues each start an AgentExecutionWorkflow whose trivial agent announces itself
and then sleeps. Counts the agents running at once and reads the worker's RSS (agents excluded).

Prints `name value unit` lines. Usage: bench/concurrent_runs.py [--runs N] [--timeout S]
[--cached-workflows N] (the worker's workflow cache; 0 keeps the executor's default)
[--child-watcher pidfd|threads]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import signal
import sys
import time
import uuid
from pathlib import Path

from executor_stack import OWNER, executor_stack
from scratch import bench_home

from paid_contracts import IssueRef, RepoRef
from paid_executor.params import ExecutionInput
from paid_executor.subscribers import start_execution
from paid_runtime.temporal import connect_temporal


def started(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def held_agents(path: Path) -> list[int]:
    """The announced agents still alive and still this bench's `sleep` (a pid may have been reused)."""
    held: list[int] = []
    for line in path.read_text().splitlines() if path.exists() else []:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{line.strip()}/cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", b"3600"]:
                held.append(int(line))
    return held


def stop_agents(path: Path) -> None:
    for pid in held_agents(path):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def alive_agents(path: Path) -> int:
    return len(held_agents(path))


async def hold(args: argparse.Namespace) -> None:
    with bench_home("paid-bench-concurrent-") as home:
        announce = home / "started.txt"
        # The announcement is outside the worktree, hence the local sandbox: this measures orchestration.
        agent = f"sh -c {shlex.quote(f'echo $$ >> {announce}; exec sleep 3600')}"
        env = {
            "PAID_EXECUTOR_AGENT": "command",
            "PAID_EXECUTOR_AGENT_COMMAND": agent,
            "PAID_EXECUTOR_SANDBOX": "none",
            # The worker's capacity is measured, not the admission limits (README "Fair concurrency").
            "PAID_EXECUTOR_MAX_RUNNING_RUNS": str(args.runs),
            "PAID_EXECUTOR_MAX_RUNNING_RUNS_PER_PROJECT": str(args.runs),
            "PAID_EXECUTOR_MAX_RUNNING_RUNS_PER_PROVIDER": str(args.runs),
        }
        if args.child_watcher:
            env["PAID_EXECUTOR_CHILD_WATCHER"] = args.child_watcher
        if args.cached_workflows:
            env["PAID_EXECUTOR_MAX_CACHED_WORKFLOWS"] = str(args.cached_workflows)
        try:
            with executor_stack(home, env) as stack:
                stack.github.create_repository(OWNER, "hold", {"README.md": "hold\n"})
                for i in range(args.runs):
                    stack.github.create_issue(OWNER, "hold", title=f"hold {i}", body="hold", as_user=OWNER)
                client = await connect_temporal(stack.temporal.target)
                baseline = stack.rss_mib()
                began = time.monotonic()
                for number in range(1, args.runs + 1):
                    request = ExecutionInput(
                        issue=IssueRef(repo=RepoRef(owner=OWNER, name="hold"), number=number),
                        source="command",
                        source_id=str(uuid.uuid4()),
                        agent="command",
                        sandbox="none",
                        agent_timeout_seconds=3600,
                        heartbeat_timeout_seconds=30,
                    )
                    await start_execution(client, request, task_queue=stack.task_queue)
                deadline = time.monotonic() + args.timeout
                last, stalled_since = 0, time.monotonic()
                while started(announce) < args.runs and time.monotonic() < deadline:
                    now = started(announce)
                    if now != last:
                        last, stalled_since = now, time.monotonic()
                    elif time.monotonic() - stalled_since > 120:
                        break  # no new agent for two minutes: this is what the worker holds
                    await asyncio.sleep(0.2)
                ramp = time.monotonic() - began
                held = started(announce)
                rss = stack.rss_mib()
                threads = stack.threads()
                alive = alive_agents(announce)
        finally:
            stop_agents(announce)  # the stopped executor leaves them running, holding their worktrees
    print(f"concurrent_runs_held {min(held, alive)} runs")
    print(f"concurrent_runs_requested {args.runs} runs")
    print(f"concurrent_runs_ramp {ramp:.1f} s")
    print(f"concurrent_runs_worker_rss {rss:.0f} MiB")
    print(f"concurrent_runs_worker_rss_idle {baseline:.0f} MiB")
    print(f"concurrent_runs_rss_per_run {(rss - baseline) / max(held, 1) * 1024:.0f} KiB")
    print(f"concurrent_runs_worker_threads {threads} threads")


def main() -> None:
    # A terminated bench still stops the servers and the executor it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--cached-workflows", type=int, default=0)
    parser.add_argument("--child-watcher", choices=("pidfd", "threads"))
    asyncio.run(hold(parser.parse_args()))


if __name__ == "__main__":
    main()
