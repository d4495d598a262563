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

Prints `name value unit` lines. Usage: bench/webhook_to_agent_start.py [--runs N] [--eager-start on|off]
(`off` is the executor before eager workflow start, for a before-and-after in one session).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from history_timing import history_timing, median_timing, print_timing
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from paid_contracts.workflow_ids import execution_workflow_id
from paid_devstack import wait_until
from paid_devstack.demo_repo import MAINTAINER
from paid_devstack.sandbox import EmulatedPaid
from paid_runtime.temporal import connect_temporal

STAMP_AGENT = Path(__file__).parent / "agents" / "stamp_agent.sh"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


async def profile(target: str, repository: str, runs: list[tuple[int, float, float]]) -> None:
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
    prefix = "webhook_to_agent_start_profile"
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
    args = parser.parse_args()
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
        "PAID_EXECUTOR_MAX_RUNNING_RUNS": str(args.runs),
        "PAID_EXECUTOR_MAX_RUNNING_RUNS_PER_PROJECT": str(args.runs),
        "PAID_EXECUTOR_MAX_RUNNING_RUNS_PER_PROVIDER": str(args.runs),
    }
    with EmulatedPaid(home / "paid", service_env={"executor": executor_env}) as paid:
        first = paid.create_repository("bench", "latency")
        numbers = [first.number] + [
            int(
                paid.github.create_issue("bench", "latency", title=f"bench {i}", as_user=MAINTAINER)["number"]
            )
            for i in range(args.runs - 1)
        ]
        latencies_ms = []
        runs: list[tuple[int, float, float]] = []
        for number in numbers:
            seen = len(stamps.read_text().splitlines())
            sent = time.time()
            paid.github.add_labels("bench", "latency", number, ["paid-build"], as_user=MAINTAINER)
            wait_until(
                lambda seen=seen: len(stamps.read_text().splitlines()) > seen,  # type: ignore[misc]
                timeout=30,
                what=f"the agent of issue {number}",
            )
            started_at = float(stamps.read_text().splitlines()[seen].split()[0])
            latencies_ms.append((started_at - sent) * 1000)
            runs.append((number, sent, started_at))
        asyncio.run(profile(paid.platform.infra.temporal_target, "bench/latency", runs))
        target = paid.platform.infra.temporal_target
        ids = [execution_workflow_id("bench/latency", number) for number in numbers]
        admission_ms = asyncio.run(first_workflow_tasks_ms(target, ids))
    print(f"webhook_to_agent_start_eager_start {args.eager_start} flag")
    print(f"webhook_to_agent_start_runs {len(latencies_ms)} runs")
    print(f"webhook_to_agent_start_p50 {statistics.median(latencies_ms):.0f} ms")
    print(f"webhook_to_agent_start_p99 {percentile(latencies_ms, 0.99):.0f} ms")
    print(f"webhook_to_agent_start_max {max(latencies_ms):.0f} ms")
    print(f"webhook_to_agent_start_admission_task_p50 {statistics.median(admission_ms):.1f} ms")
    print(f"webhook_to_agent_start_admission_task_p99 {percentile(admission_ms, 0.99):.1f} ms")


if __name__ == "__main__":
    main()
