"""Evolution's Temporal worker and the schedule that runs the sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleSpec,
)
from temporalio.worker import Worker

from paid_evolution.activities import EvolutionActivities, EvolutionDeps
from paid_evolution.params import SweepInput
from paid_evolution.workflows import EvolutionSweepWorkflow, PromptEvolutionWorkflow

SCHEDULE_ID = "paid-evolution-sweep"


def activities(deps: EvolutionDeps) -> list[Callable[..., Any]]:
    a = EvolutionActivities(deps)
    return [
        a.assess,
        a.generate_mutations,
        a.register_candidates,
        a.start_experiment,
        a.start_comparison,
        a.evaluate,
        a.conclude,
        a.approve,
        a.list_targets,
        a.start_evolution,
    ]


def make_worker(client: Client, deps: EvolutionDeps) -> Worker:
    return Worker(
        client,
        task_queue=deps.task_queue,
        workflows=[PromptEvolutionWorkflow, EvolutionSweepWorkflow],
        activities=activities(deps),
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def ensure_schedule(client: Client, *, task_queue: str, every: timedelta, sweep: SweepInput) -> bool:
    """Creates the sweep's schedule once; returns False when it exists already (left as it is)."""
    try:
        await client.create_schedule(
            SCHEDULE_ID,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    EvolutionSweepWorkflow.run, sweep, id="evolution-sweep", task_queue=task_queue
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
            ),
        )
    except ScheduleAlreadyRunningError:
        return False
    return True
