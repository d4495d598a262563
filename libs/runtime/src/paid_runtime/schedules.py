"""Periodic jobs as Temporal Schedules, created or brought up to date at each start of the service that
owns the job, so every replica may call `ensure_schedule` at once.

A schedule carries a fingerprint of what Paid asked for (its note): the same definition again changes
nothing, a changed one (another interval, workflow input or queue) updates the schedule in place,
keeping its id and history. The fingerprint rather than a comparison with `describe()`: Temporal answers
the action's arguments as encoded payloads, which cannot be compared with the Python values."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

Ensured = Literal["created", "updated", "unchanged"]
NOTE_PREFIX = "paid-definition:"


def fingerprint(*, workflow: str, arg: Any, workflow_id: str, task_queue: str, spec: ScheduleSpec) -> str:
    document = {
        "workflow": workflow,
        "arg": arg.model_dump(mode="json") if isinstance(arg, BaseModel) else arg,
        "id": workflow_id,
        "queue": task_queue,
        "intervals": [
            (i.every.total_seconds(), (i.offset or timedelta()).total_seconds()) for i in spec.intervals
        ],
        "cron": list(spec.cron_expressions),
        "zone": spec.time_zone_name,
    }
    encoded = json.dumps(document, sort_keys=True, default=str).encode()
    return NOTE_PREFIX + hashlib.sha256(encoded).hexdigest()[:32]


async def ensure_schedule(
    client: Client,
    schedule_id: str,
    *,
    workflow: str,
    arg: Any,
    workflow_id: str,
    task_queue: str,
    spec: ScheduleSpec,
) -> Ensured:
    """The schedule `schedule_id` starting `workflow(arg)` as `workflow_id` on `task_queue` per `spec`."""
    note = fingerprint(workflow=workflow, arg=arg, workflow_id=workflow_id, task_queue=task_queue, spec=spec)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(workflow, arg, id=workflow_id, task_queue=task_queue),
        spec=spec,
        state=ScheduleState(note=note),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
        return "created"
    except ScheduleAlreadyRunningError:
        pass
    handle = client.get_schedule_handle(schedule_id)
    if (await handle.describe()).schedule.state.note == note:
        return "unchanged"

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await handle.update(replace)
    return "updated"
