"""Webhook -> agent process started, p50/p99: an issue is labeled on the GitHub emulator, whose signed
delivery goes through the gateway, JetStream, the executor's subscriber, a Temporal workflow and the
activity that starts the agent; a trivial agent stamps the time it started. Also the admission step's
share (a slot under the concurrency limits, README "Fair concurrency"): the run's first workflow task,
read from each run's history, is where admission runs (a local activity, one database transaction); its
duration from WorkflowTaskStarted to WorkflowTaskCompleted is printed, with no run queued (limits above
the runs).

Then the profile of those runs, p50 per step: the webhook to the workflow's start (gateway, JetStream,
the executor's subscriber, Temporal's start), the workflow up to the agent's activity starting, from
its Temporal history (`history_timing.py`: each activity's execution, their waits in the task queue,
the workflow tasks), and that activity's start to the agent's process (the sandbox and the spawn).

With `--repo large` the repository is the large one `repository_cache.py` generates (20,000 files,
5,000 commits; generated once into its cache directory), pushed over the seeded one, and one run before
the measured ones warms the executor's mirror and base tree: the figures are the warm cache's, named
`webhook_to_agent_start_large_*`.

Prints `name value unit` lines. Usage: bench/webhook_to_agent_start.py [--runs N] [--eager-start on|off]
[--repo small|large] (`off` is the executor before eager workflow start, for a before-and-after in one
session).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from history_timing import history_timing, median_timing, print_timing
from repository_cache import generate
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from paid_contracts.workflow_ids import execution_workflow_id
from paid_devstack import wait_until
from paid_devstack.demo_repo import MAINTAINER
from paid_devstack.sandbox import EmulatedPaid
from paid_runtime.temporal import connect_temporal

STAMP_AGENT = Path(__file__).parent / "agents" / "stamp_agent.sh"
LARGE = {"files": 20_000, "commits": 5_000, "changes": 3, "file_bytes": 6_000}  # repository_cache.py's


def large_repository(cache_dir: Path) -> Path:
    shape = "{files}f-{commits}c-{changes}x-{file_bytes}b".format(**LARGE)
    repository = cache_dir / f"generated-{shape}.git"
    if not repository.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        generate(repository, **LARGE)
    return repository


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


async def profile(target: str, repository: str, runs: list[tuple[int, float, float]], prefix: str) -> None:
    """`runs`: (issue number, webhook sent, agent started), in seconds since the epoch."""
    client = await Client.connect(target)
    to_workflow, timings, to_agent = [], [], []
    for number, sent, agent_started in runs:
        handle = client.get_workflow_handle(execution_workflow_id(repository, number))
        # Temporal writes a retried activity's start to the history only when the attempt closes.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(handle.result(), timeout=120)
        events = []
        async for event in handle.fetch_history_events():
            events.append(event)
            attributes = event.activity_task_started_event_attributes
            if event.HasField("activity_task_started_event_attributes"):
                scheduled = next(e for e in events if e.event_id == attributes.scheduled_event_id)
                if scheduled.activity_task_scheduled_event_attributes.activity_type.name == "run_iteration":
                    break
        else:
            print(f"profile: {handle.id} has no run_iteration started; left out", file=sys.stderr)
            continue
        # Up to the agent's activity starting: close it there, so that its wait counts and not its run.
        timings.append(history_timing(WorkflowHistory(handle.id, events)))
        to_workflow.append(events[0].event_time.ToDatetime().timestamp() - sent)
        to_agent.append(agent_started - events[-1].event_time.ToDatetime().timestamp())
    if not timings:
        return
    prefix = f"{prefix}_profile"
    print(f"{prefix}_webhook_to_workflow_started {statistics.median(to_workflow) * 1000:.0f} ms")
    print_timing(prefix, median_timing(timings))
    print(f"{prefix}_agent_activity_to_process {statistics.median(to_agent) * 1000:.0f} ms")


async def first_workflow_tasks_ms(target: str, workflow_ids: list[str]) -> list[float]:
    """Each run's first workflow task, started to completed: where admission runs before start_run."""
    client = await connect_temporal(target)
    durations = []
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        started = next(
            e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
        )
        completed = next(
            e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        )
        span = completed.event_time.ToDatetime() - started.event_time.ToDatetime()
        durations.append(span.total_seconds() * 1000)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--eager-start", choices=("on", "off"), default="on")
    parser.add_argument("--repo", choices=("small", "large"), default="small")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "paid-bench")
    args = parser.parse_args()
    name = "webhook_to_agent_start" + ("_large" if args.repo == "large" else "")
    home = Path(tempfile.mkdtemp(prefix="paid-bench-"))
    stamps = home / "agent-starts.txt"
    stamps.touch()
    executor_env = {
        "PAID_EXECUTOR_AGENT": "command",
        "PAID_EXECUTOR_AGENT_COMMAND": f"sh {STAMP_AGENT} {stamps}",
        # The stamp file is outside the worktree, which a sandbox would hide.
        "PAID_EXECUTOR_SANDBOX": "none",
        "PAID_EXECUTOR_EAGER_WORKFLOW_START": "true" if args.eager_start == "on" else "false",
        # Limits above the runs: none waits for a slot (the runs it measured before still finishing).
        "PAID_EXECUTOR_MAX_RUNNING_RUNS": str(args.runs + 1),  # the large repository's warm-up too
        "PAID_EXECUTOR_MAX_RUNNING_RUNS_PER_PROJECT": str(args.runs + 1),
        "PAID_EXECUTOR_MAX_RUNNING_RUNS_PER_PROVIDER": str(args.runs + 1),
    }
    with EmulatedPaid(home / "paid", service_env={"executor": executor_env}) as paid:
        first = paid.create_repository("bench", "latency")
        warm_up = []
        if args.repo == "large":
            url = paid.github.git_url("bench", "latency", paid.maintainer_token)
            source = large_repository(args.cache_dir)
            subprocess.run(
                ["git", "--git-dir", str(source), "push", "--quiet", "--force", url, "main:main"], check=True
            )
            warm_up = [first.number]  # its run fills the mirror and the base tree: not measured
        numbers = [first.number] + [
            int(
                paid.github.create_issue("bench", "latency", title=f"bench {i}", as_user=MAINTAINER)["number"]
            )
            for i in range(args.runs - 1 + len(warm_up))
        ]
        latencies_ms = []
        runs: list[tuple[int, float, float]] = []
        for number in numbers:
            seen = len(stamps.read_text().splitlines())
            sent = time.time()
            paid.github.add_labels("bench", "latency", number, ["paid-build"], as_user=MAINTAINER)
            wait_until(
                lambda seen=seen: len(stamps.read_text().splitlines()) > seen,  # type: ignore[misc]
                timeout=900 if number in warm_up else 30,  # the warm-up fetches the whole repository
                what=f"the agent of issue {number}",
            )
            started_at = float(stamps.read_text().splitlines()[seen].split()[0])
            if number in warm_up:
                continue
            latencies_ms.append((started_at - sent) * 1000)
            runs.append((number, sent, started_at))
        target = paid.platform.infra.temporal_target
        asyncio.run(profile(target, "bench/latency", runs, name))
        ids = [execution_workflow_id("bench/latency", number) for number, _, _ in runs]
        admission_ms = asyncio.run(first_workflow_tasks_ms(target, ids))
    print(f"{name}_eager_start {args.eager_start} flag")
    print(f"{name}_runs {len(latencies_ms)} runs")
    print(f"{name}_p50 {statistics.median(latencies_ms):.0f} ms")
    print(f"{name}_p99 {percentile(latencies_ms, 0.99):.0f} ms")
    print(f"{name}_max {max(latencies_ms):.0f} ms")
    print(f"{name}_admission_task_p50 {statistics.median(admission_ms):.1f} ms")
    print(f"{name}_admission_task_p99 {percentile(admission_ms, 0.99):.1f} ms")


if __name__ == "__main__":
    main()
