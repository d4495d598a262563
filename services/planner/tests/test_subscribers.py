"""A PlanRequested event starts the issue's PlanningWorkflow once, however often it is delivered."""

from __future__ import annotations

from typing import Any

from faststream.nats import TestNatsBroker
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import PlanRequested, TriggerSource, subjects
from paid_planner import subscribers
from paid_planner.activities import ack_marker
from paid_planner.workflows import plan_workflow_id
from paid_runtime.messaging import make_broker


def plan_requested(world: Any, delivery: str) -> PlanRequested:
    return PlanRequested(
        event_id=delivery,
        producer="gateway",
        issue=world.issue,
        label="paid-plan",
        actor="octo-org",
        source=TriggerSource.WEBHOOK,
        source_id=delivery,
    )


async def test_plan_requested_starts_one_workflow_per_issue(
    temporal: WorkflowEnvironment, worker: Worker, world: Any
) -> None:
    broker = make_broker("nats://unused:4222", "planner")
    subscribers.register(broker, temporal.client, task_queue=worker.task_queue)
    workflow_id = plan_workflow_id(world.issue)

    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(plan_requested(world, "delivery-1"), subject=subjects.GITHUB_PLAN_REQUESTED)
        handle = temporal.client.get_workflow_handle(workflow_id)
        first_run = (await handle.describe()).run_id
        await test_broker.publish(plan_requested(world, "delivery-1"), subject=subjects.GITHUB_PLAN_REQUESTED)
        await handle.result()
        # A redelivery, and a second request for the same issue, after the plan completed.
        await test_broker.publish(plan_requested(world, "delivery-1"), subject=subjects.GITHUB_PLAN_REQUESTED)
        await test_broker.publish(plan_requested(world, "delivery-2"), subject=subjects.GITHUB_PLAN_REQUESTED)

    description = await handle.describe()
    assert description.run_id == first_run
    assert description.status is WorkflowExecutionStatus.COMPLETED
    comments = world.emulator.comments(world.issue.repo.owner, world.issue.repo.name, world.issue.number)
    assert len(comments) == 1
    assert ack_marker(workflow_id) in comments[0]["body"]
