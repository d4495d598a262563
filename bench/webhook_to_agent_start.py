"""Webhook -> agent process started, p50/p99: an issue is labeled on the GitHub emulator, whose signed
delivery goes through the gateway, JetStream, the executor's subscriber, a Temporal workflow and the
activity that starts the agent; a trivial agent stamps the time it started. Also the admission step's
share (a slot under the concurrency limits, README "Fair concurrency"): the run's first workflow task,
read from each run's history, is where admission runs (a local activity, one database transaction); its
duration from WorkflowTaskStarted to WorkflowTaskCompleted is printed, with no run queued (limits above
the runs).

Prints `name value unit` lines. Usage: bench/webhook_to_agent_start.py [--runs N] [--eager-start on|off]
(`off` is the executor before eager workflow start, for a before-and-after in one session).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from temporalio.api.enums.v1 import EventType

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
