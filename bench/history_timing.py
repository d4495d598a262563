"""Where a workflow's time goes, from its Temporal history: each activity's wait in the task queue
(scheduled -> started) and its execution (started -> closed), the workflow tasks' time (scheduled ->
completed) and what is left (the gaps between them: the worker's reaction, history round trips).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory


@dataclass
class Timing:
    total_ms: float = 0.0
    workflow_tasks_ms: float = 0.0
    queue_ms: float = 0.0  # activities waiting to be picked up, summed (parallel ones overlap)
    activities: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # type -> ms


ACTIVITY_CLOSED = frozenset(
    f"activity_task_{closed}_event_attributes" for closed in ("completed", "failed", "timed_out", "canceled")
)


def _ms(event: HistoryEvent) -> float:
    return event.event_time.ToDatetime().timestamp() * 1000


def history_timing(history: WorkflowHistory) -> Timing:
    events = list(history.events)
    by_id = {event.event_id: event for event in events}
    timing = Timing(total_ms=_ms(events[-1]) - _ms(events[0]))
    for event in events:
        kind = event.WhichOneof("attributes")
        if kind == "workflow_task_completed_event_attributes":
            scheduled = by_id[event.workflow_task_completed_event_attributes.scheduled_event_id]
            timing.workflow_tasks_ms += _ms(event) - _ms(scheduled)
        elif kind in ACTIVITY_CLOSED:
            attributes = getattr(event, kind)
            scheduled = by_id[attributes.scheduled_event_id]
            started = by_id.get(attributes.started_event_id)
            name = scheduled.activity_task_scheduled_event_attributes.activity_type.name
            if started is not None:
                timing.queue_ms += _ms(started) - _ms(scheduled)
                timing.activities[name] += _ms(event) - _ms(started)
    return timing


def median_timing(timings: list[Timing]) -> Timing:
    """Per field and per activity type, the median over runs."""
    names = sorted({name for timing in timings for name in timing.activities})
    return Timing(
        total_ms=statistics.median(t.total_ms for t in timings),
        workflow_tasks_ms=statistics.median(t.workflow_tasks_ms for t in timings),
        queue_ms=statistics.median(t.queue_ms for t in timings),
        activities={name: statistics.median(t.activities.get(name, 0.0) for t in timings) for name in names},
    )


def print_timing(prefix: str, timing: Timing) -> None:
    activities = sum(timing.activities.values())
    print(f"{prefix}_workflow_total {timing.total_ms:.0f} ms")
    print(f"{prefix}_activities_executing {activities:.0f} ms")
    print(f"{prefix}_activities_queued {timing.queue_ms:.0f} ms")
    print(f"{prefix}_workflow_tasks {timing.workflow_tasks_ms:.0f} ms")
    for name, ms in sorted(timing.activities.items(), key=lambda item: -item[1]):
        print(f"{prefix}_activity_{_snake(name)} {ms:.0f} ms")


def _snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).strip("_")
    return "".join(c if c.isalnum() else "_" for c in out)
