"""PlanningWorkflow: for now it acknowledges a planning request honestly; decomposition comes later."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from paid_contracts import IssueRef
    from paid_planner.activities import PlannerActivities
    from paid_planner.params import (
        AcknowledgeInput,
        PlanningInput,
        PlanningResult,
        PlanStatus,
        PlanStatusUpdate,
    )

GITHUB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=2)
)
DATABASE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
NOT_IMPLEMENTED = "planning (decomposition into sub-issues) is not implemented in this version"


def plan_workflow_id(issue: IssueRef) -> str:
    return f"plan:{issue.key}"


@workflow.defn
class PlanningWorkflow:
    @workflow.run
    async def run(self, request: PlanningInput) -> PlanningResult:
        plan_id = workflow.info().workflow_id
        await self._save_status(plan_id, request.issue, PlanStatus.REQUESTED)
        issue = await workflow.execute_activity_method(
            PlannerActivities.fetch_issue,
            request.issue,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=GITHUB_RETRY,
        )
        acknowledgement = await workflow.execute_activity_method(
            PlannerActivities.acknowledge_plan_request,
            AcknowledgeInput(plan_id=plan_id, issue=request.issue, actor=request.actor, label=request.label),
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=GITHUB_RETRY,
        )
        await self._save_status(plan_id, request.issue, PlanStatus.ACKNOWLEDGED)
        return PlanningResult(
            plan_id=plan_id,
            status=PlanStatus.ACKNOWLEDGED,
            issue_title=issue.title,
            comment_url=acknowledgement.comment_url,
            detail=NOT_IMPLEMENTED,
        )

    async def _save_status(self, plan_id: str, issue: IssueRef, status: PlanStatus) -> None:
        await workflow.execute_activity_method(
            PlannerActivities.save_plan_status,
            PlanStatusUpdate(plan_id=plan_id, issue=issue, status=status),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DATABASE_RETRY,
        )
