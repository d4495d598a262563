"""Where a failover's time goes: one wall-clock stamp per hop from the kill to the agent started again,
from the sources that saw each hop (all on this machine's clock):
- nats_closed: nats-server's closed-connection record (`/connz?state=closed`), the killed process's;
- home_seen_gone: the survivor's log line when its liveness watch took the home for gone;
- signalled: Temporal's `home_lost` signal event (after the survivor reset the run's sticky queue);
- workflow_task_done: the workflow task that handled the signal, completed;
- tree_scheduled / tree_started / tree_ready: the move's prepare_workspace;
- agent_activity_started: the move's run_iteration started on the new home;
- agent_started: the agent's own stamp (bench/agents/stamp_agent.sh).
Used by bench/executor_failover.py, which prints each hop's p50 as `executor_failover_hop_<name>`."""

from __future__ import annotations

import json
import re
import statistics
import sys
import urllib.request
from datetime import datetime
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from paid_contracts.workflow_ids import ExecutionSignal

HOPS = (
    "nats_closed",
    "home_seen_gone",
    "signalled",
    "workflow_task_done",
    "tree_scheduled",
    "tree_started",
    "tree_ready",
    "agent_activity_started",
    "agent_started",
)
GONE_LOG = "is gone: no responders"


def nats_closed_at(monitor_url: str, killed_at: float) -> float | None:
    """The earliest close nats-server recorded at or after the kill: the killed process's connection
    (nothing else closes a connection meanwhile in the bench)."""
    with urllib.request.urlopen(f"{monitor_url}/connz?state=closed&limit=1024", timeout=5) as answer:  # noqa: S310
        connections = json.load(answer).get("connections") or []
    stops = [_epoch(c["stop"]) for c in connections if c.get("stop")]
    after = [stop for stop in stops if killed_at - 0.05 <= stop <= killed_at + 120]
    return min(after, default=None)


def home_seen_gone_at(log: Path, killed_at: float) -> float | None:
    """The survivor's first "home is gone" log line after the kill."""
    seen = []
    for line in log.read_text(errors="replace").splitlines():
        if GONE_LOG not in line:
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if (at := _epoch(entry["ts"])) >= killed_at:
            seen.append(at)
    return min(seen, default=None)


async def history_stamps(client: Client, workflow_id: str) -> dict[str, float]:
    """The Temporal hops of the run's first move on a lost home."""
    events = [event async for event in client.get_workflow_handle(workflow_id).fetch_history_events()]
    stamps: dict[str, float] = {}
    signal = next(
        (
            event
            for event in events
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
            and event.workflow_execution_signaled_event_attributes.signal_name == ExecutionSignal.HOME_LOST
        ),
        None,
    )
    if signal is None:
        return stamps
    stamps["signalled"] = _time(signal)
    later = [event for event in events if event.event_id > signal.event_id]
    task = next((e for e in later if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED), None)
    if task is not None:
        stamps["workflow_task_done"] = _time(task)
    scheduled = {
        event.event_id: event.activity_task_scheduled_event_attributes.activity_type.name
        for event in later
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    first_of = {name: min(i for i, n in scheduled.items() if n == name) for name in set(scheduled.values())}
    by_id = {event.event_id: event for event in later}
    if (tree := first_of.get("prepare_workspace")) is not None:
        stamps["tree_scheduled"] = _time(by_id[tree])
        stamps |= _activity_stamps(later, tree, started="tree_started", completed="tree_ready")
    if (agent := first_of.get("run_iteration")) is not None:
        stamps |= _activity_stamps(later, agent, started="agent_activity_started", completed="")
    return stamps


def _activity_stamps(
    events: list[HistoryEvent], scheduled: int, *, started: str, completed: str
) -> dict[str, float]:
    """The started and completed times of the activity scheduled by event `scheduled`, under the names
    given (an empty name: not wanted)."""
    stamps = {}
    for event in events:
        if event.activity_task_started_event_attributes.scheduled_event_id == scheduled and started:
            stamps[started] = _time(event)
        if event.activity_task_completed_event_attributes.scheduled_event_id == scheduled and completed:
            stamps[completed] = _time(event)
    return stamps


def describe_hops(stamps: dict[str, float], killed_at: float) -> str:
    """One run's hops, each since the kill, for a progress line."""
    return ", ".join(f"{hop} {stamps[hop] - killed_at:.2f}" for hop in HOPS if hop in stamps)


def print_hops(prefix: str, runs: list[dict[str, float]], killed: list[float]) -> None:
    """Per hop: the p50 since the previous hop seen, and since the kill."""
    for hop in HOPS:
        since_kill = [stamps[hop] - kill for stamps, kill in zip(runs, killed, strict=True) if hop in stamps]
        steps = []
        for stamps, kill in zip(runs, killed, strict=True):
            if hop not in stamps:
                continue
            before = [stamps[h] for h in HOPS[: HOPS.index(hop)] if h in stamps]
            steps.append(stamps[hop] - (before[-1] if before else kill))
        if since_kill:
            # bench/run takes figures only: `name value unit`, the sample count on stderr.
            print(f"{prefix}_hop_{hop}{{since=previous}} {statistics.median(steps) * 1000:.0f} ms")
            print(f"{prefix}_hop_{hop}{{since=kill}} {statistics.median(since_kill) * 1000:.0f} ms")
            print(f"# {prefix}_hop_{hop}: n={len(since_kill)}", file=sys.stderr)


def _time(event: HistoryEvent) -> float:
    return event.event_time.seconds + event.event_time.nanos / 1e9


def _epoch(stamp: str) -> float:
    """RFC 3339 with up to nanoseconds (nats-server's), or ISO with an offset (the services' logs)."""
    stamp = re.sub(r"(\.\d{6})\d+", r"\1", stamp.replace("Z", "+00:00"))
    return datetime.fromisoformat(stamp).timestamp()
