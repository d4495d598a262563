"""The orchestration overhead of a run: the whole AgentExecutionWorkflow (fetch the issue, clone,
sandbox, agent, checks, commit, push, draft PR, comment, cleanup, events) minus the same agent run
directly on a clone of the same repository, p50 over N issues; then where a run's time goes, from
its Temporal history (`history_timing.py`): activities executing, waiting in the task queue, workflow
tasks, and each activity type.

Real Temporal, NATS, PostgreSQL, the GitHub emulator and one `paid-executor` process; the agent is
the demo agent applying the diff given in the issue; the repository has no tests, so no checks run.

With --compare, each issue also runs as before the trust boundary (no sandbox, no pinned text),
interleaved with the runs through it in the same session, and the commit step is timed both ways
(`import_step.py`): the difference is what the boundary adds.

Prints `name value unit` lines.
Usage: bench/orchestration_overhead.py [--runs N] [--sandbox NAME] [--no-pinned] [--compare]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from executor_stack import OWNER, TOKEN, ExecutorStack, executor_stack
from history_timing import Timing, history_timing, median_timing, print_timing
from import_step import print_import_step
from scratch import bench_home
from temporalio.client import Client

from paid_contracts import IssueRef, PinnedText, RepoRef
from paid_executor.agents.registry import demo_agent_argv
from paid_executor.params import ExecutionInput
from paid_executor.subscribers import start_execution
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for
from paid_runtime.temporal import connect_temporal

CALC = "def add(a, b):\n    return a - b\n"
DIFF = """\
```diff
diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
```
"""


def direct_agent_seconds(clone_url: str, scratch: Path, prompt: str) -> float:
    """The demo agent alone, on a fresh clone of the same repository (the clone is not timed)."""
    worktree = scratch / uuid.uuid4().hex
    subprocess.run(["git", "clone", "--quiet", clone_url, str(worktree)], check=True, capture_output=True)
    prompt_file = scratch / f"{worktree.name}.md"
    prompt_file.write_text(prompt)
    began = time.monotonic()
    subprocess.run(
        demo_agent_argv(),
        cwd=worktree,
        env={"PAID_PROMPT_FILE": str(prompt_file), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    return time.monotonic() - began


@dataclass(frozen=True)
class Setup:
    """What a run goes through: its sandbox, and whether its trigger pins the issue's text."""

    name: str
    sandbox: str
    pinned: bool


async def one_run(
    stack: ExecutorStack, client: Client, setup: Setup, i: int, histories: Path | None
) -> tuple[float, Timing]:
    issue = stack.github.create_issue(OWNER, "calc", title=f"add {setup.name} {i}", body=DIFF, as_user=OWNER)
    request = ExecutionInput(
        issue=IssueRef(repo=RepoRef(owner=OWNER, name="calc"), number=int(issue["number"])),
        source="command",
        source_id=str(uuid.uuid4()),
        agent="demo",
        sandbox=setup.sandbox,
        agent_timeout_seconds=300,
        # As a labeled trigger now carries it: the run then checks the live issue against it.
        pinned=PinnedText.of(str(issue["title"]), DIFF) if setup.pinned else None,
    )
    began = time.monotonic()
    run_id = await start_execution(client, request, task_queue=stack.task_queue)
    handle = client.get_workflow_handle_for(
        AgentExecutionWorkflow.run, workflow_id_for(request.issue), run_id=run_id
    )
    result = await handle.result()
    elapsed = time.monotonic() - began
    assert result.outcome.value == "succeeded", result.detail
    history = await handle.fetch_history()
    if histories is not None:  # to compare a before/after pair event by event (history_diff.py)
        await asyncio.to_thread(write_history, histories / f"{i:02d}-{setup.name}.json", history.to_json())
    return elapsed, history_timing(history)


def write_history(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def print_overhead(prefix: str, runs: list[float], direct: list[float], timings: list[Timing]) -> float:
    overhead = [run - agent for run, agent in zip(runs, direct, strict=True)]
    print(f"{prefix}_run_p50 {statistics.median(runs):.3f} s")
    print(f"{prefix}_agent_alone_p50 {statistics.median(direct):.3f} s")
    print(f"{prefix}_overhead_p50 {statistics.median(overhead):.3f} s")
    print(f"{prefix}_overhead_max {max(overhead):.3f} s")
    # Where the run's time goes (medians over the runs), to tell scheduling from work.
    print_timing(prefix, median_timing(timings))
    return statistics.median(overhead)


async def measure(args: argparse.Namespace) -> None:
    after = Setup("after", args.sandbox, args.pinned)
    # Before the trust boundary: no sandbox and no pinned text (the old defaults); the commit step's
    # own before and after are measured apart (import_step.py), since the old one is gone from the run.
    setups = [Setup("before", "none", False), after] if args.compare else [after]
    env = {"PAID_EXECUTOR_AGENT": "demo", "PAID_EXECUTOR_SANDBOX": args.sandbox}
    runs: dict[str, list[float]] = {setup.name: [] for setup in setups}
    timings: dict[str, list[Timing]] = {setup.name: [] for setup in setups}
    direct: list[float] = []
    with bench_home("paid-bench-overhead-") as home, executor_stack(home, env) as stack:
        stack.github.create_repository(OWNER, "calc", {"calc.py": CALC})
        client = await connect_temporal(stack.temporal.target)
        clone_url = stack.github.git_url(OWNER, "calc", TOKEN)
        for i in range(args.runs + 1):  # the first round warms the worker up and is not counted
            # Alternating the order spreads the machine's drift over both setups alike.
            for setup in setups if i % 2 == 0 else setups[::-1]:
                elapsed, timing = await one_run(stack, client, setup, i, args.histories)
                if i > 0:
                    runs[setup.name].append(elapsed)
                    timings[setup.name].append(timing)
            agent_alone = direct_agent_seconds(clone_url, home, f"Resolve the issue.\n\n{DIFF}")
            if i > 0:
                direct.append(agent_alone)
        if args.compare:
            await print_import_step(clone_url, home / "import-step", ("calc.py", CALC), args.import_runs)
    print(f"orchestration_sandbox {args.sandbox} name")
    print(f"orchestration_pinned {args.pinned} flag")
    if not args.compare:
        print_overhead("orchestration", runs["after"], direct, timings["after"])
        return
    before = print_overhead("orchestration_before", runs["before"], direct, timings["before"])
    after_p50 = print_overhead("orchestration_after", runs["after"], direct, timings["after"])
    print(f"orchestration_boundary_added_p50 {(after_p50 - before) * 1000:.0f} ms")
    # Each round ran both setups back to back: their difference is the least exposed to drift.
    paired = [
        after_run - before_run for after_run, before_run in zip(runs["after"], runs["before"], strict=True)
    ]
    print(f"orchestration_boundary_added_paired_p50 {statistics.median(paired) * 1000:.0f} ms")


def main() -> None:
    # A terminated bench still stops the servers and the executor it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sandbox", default="bwrap", choices=["bwrap", "docker", "none"])
    parser.add_argument(
        "--no-pinned", dest="pinned", action="store_false", help="a trigger without pinned text (older)"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also runs each issue as before the trust boundary (sandbox none, no pinned text), "
        "interleaved in the same session, and times the commit step before and after",
    )
    parser.add_argument("--histories", type=Path, help="writes each run's Temporal history here")
    parser.add_argument("--import-runs", type=int, default=20, help="commit steps timed with --compare")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
