"""PlanningWorkflow with its real activities, against the GitHub emulator and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import WorkflowFailureError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import IssueRef
from paid_planner import repo
from paid_planner.activities import ack_marker
from paid_planner.params import PlanningInput, PlanStatus
from paid_planner.workflows import PlanningWorkflow, plan_workflow_id


def planning_input(issue: IssueRef) -> PlanningInput:
    return PlanningInput(issue=issue, label="paid-plan", actor="octo-org", request_event_id=str(uuid.uuid4()))


def comments_with(world: Any, marker: str) -> list[dict[str, Any]]:
    found = world.emulator.comments(world.issue.repo.owner, world.issue.repo.name, world.issue.number)
    return [comment for comment in found if marker in comment["body"]]


async def test_acknowledges_once_and_says_planning_is_not_implemented(
    temporal: WorkflowEnvironment,
    worker: Worker,
    world: Any,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    workflow_id = f"{plan_workflow_id(world.issue)}:{uuid.uuid4()}"

    result = await temporal.client.execute_workflow(
        PlanningWorkflow.run, planning_input(world.issue), id=workflow_id, task_queue=worker.task_queue
    )

    assert result.status is PlanStatus.ACKNOWLEDGED
    assert result.issue_title == "Split the widget API"
    assert "not implemented" in result.detail
    [comment] = comments_with(world, ack_marker(workflow_id))
    assert comment["user"]["login"] == "paid-bot"
    assert comment["html_url"] == result.comment_url
    assert "not implemented in this version of Paid" in comment["body"]
    assert "@octo-org" in comment["body"]
    async with sessions() as session:
        plan = await repo.get_plan(session, plan_id=workflow_id)
    assert plan is not None
    assert (plan.repo, plan.issue, plan.status) == (
        world.issue.repo.full_name,
        world.issue.number,
        "acknowledged",
    )


async def test_running_the_same_plan_again_posts_no_second_comment(
    temporal: WorkflowEnvironment, worker: Worker, world: Any
) -> None:
    workflow_id = f"{plan_workflow_id(world.issue)}:{uuid.uuid4()}"
    for _ in range(2):
        await temporal.client.execute_workflow(
            PlanningWorkflow.run,
            planning_input(world.issue),
            id=workflow_id,
            task_queue=worker.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
    assert len(comments_with(world, ack_marker(workflow_id))) == 1


async def test_a_missing_issue_fails_without_retrying(
    temporal: WorkflowEnvironment, worker: Worker, world: Any
) -> None:
    missing = world.issue.model_copy(update={"number": 999})

    with pytest.raises(WorkflowFailureError) as failure:
        await temporal.client.execute_workflow(
            PlanningWorkflow.run,
            planning_input(missing),
            id=f"{plan_workflow_id(missing)}:{uuid.uuid4()}",
            task_queue=worker.task_queue,
        )

    activity_error = failure.value.cause
    assert isinstance(activity_error, ActivityError)
    assert isinstance(activity_error.cause, ApplicationError)
    assert activity_error.cause.type == "GitHubRequestFailed"
    assert activity_error.cause.non_retryable
