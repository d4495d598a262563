"""The planner's NATS handlers: a plan request starts (at most one) PlanningWorkflow per issue."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from paid_contracts import PlanRequested, subjects
from paid_planner.params import PlanningInput
from paid_planner.workflows import PlanningWorkflow, plan_workflow_id
from paid_runtime.messaging import STREAMS
from paid_runtime.subscriptions import durable_subscriber

log = logging.getLogger(__name__)


def register(broker: NatsBroker, client: Client, *, task_queue: str) -> None:
    @durable_subscriber(
        broker,
        service="planner",
        name="plan-requested",
        subject=subjects.GITHUB_PLAN_REQUESTED,
        stream=STREAMS["PAID_GITHUB"],
    )
    async def on_plan_requested(event: PlanRequested) -> None:
        await start_planning(client, event, task_queue=task_queue)


async def start_planning(client: Client, event: PlanRequested, *, task_queue: str) -> str:
    """Starts the issue's PlanningWorkflow; a redelivered request finds it and starts nothing.

    A running workflow is kept (USE_EXISTING); a completed one is not restarted either, while a
    failed one may be (ALLOW_DUPLICATE_FAILED_ONLY). Returns the workflow id. Raising makes the
    subscriber nack, so the message is redelivered until the start succeeds.
    """
    workflow_id = plan_workflow_id(event.issue)
    request = PlanningInput(
        issue=event.issue, label=event.label, actor=event.actor, request_event_id=event.event_id
    )
    try:
        await client.start_workflow(
            PlanningWorkflow.run,
            request,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError:
        log.info("%s already planned; request %s changes nothing", workflow_id, event.event_id)
    else:
        log.info("%s started for request %s", workflow_id, event.event_id, extra={"workflow_id": workflow_id})
    return workflow_id
