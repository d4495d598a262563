"""The planning workflow's steps that are one activity each, with their timeouts and retries: the
comments, labels and statuses it writes, the model's draft, the sub-issues, the stored plan and the
events it publishes. Called from PlanningWorkflow only (workflow code: deterministic, no I/O here)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from paid_contracts import (
        Correlation,
        IssueRef,
        PlanCompleted,
        PlanCreated,
        PlannedTask,
        PlanNeedsInput,
        TaskReady,
    )
    from paid_planner import texts
    from paid_planner.activities import PlannerActivities
    from paid_planner.params import (
        CommentInput,
        DraftInput,
        DraftOutcome,
        LabelChange,
        PlanStatus,
        PlanStatusUpdate,
        StoredTask,
        StorePlanInput,
        SubIssue,
        SubIssueInput,
        TaskStatus,
        TaskStatusUpdate,
    )
    from paid_planner.plan_schema import PlanDraft

PRODUCER = "planner"
GITHUB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=2)
)
DATABASE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
LLM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=8,
)
SHORT = timedelta(seconds=60)


async def draft(request: DraftInput) -> DraftOutcome:
    try:
        return await workflow.execute_activity_method(
            PlannerActivities.draft_plan,
            request,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=LLM_RETRY,
        )
    except ActivityError as error:
        cause = error.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(error)
        return DraftOutcome(failure=f"the model could not be asked: {reason}", model="")


async def create_sub_issues(plan_id: str, parent: IssueRef, plan: PlanDraft) -> dict[str, SubIssue]:
    """In order, one activity each: a retry or a restart finds the issues already made by their marker."""
    issues: dict[str, SubIssue] = {}
    for position, task in enumerate(plan.tasks, start=1):
        issues[task.id] = await workflow.execute_activity_method(
            PlannerActivities.ensure_sub_issue,
            SubIssueInput(
                plan_id=plan_id,
                parent=parent,
                task=task,
                position=position,
                dependency_numbers=tuple(issues[d].number for d in task.depends_on),
            ),
            start_to_close_timeout=SHORT,
            heartbeat_timeout=timedelta(seconds=5),
            retry_policy=GITHUB_RETRY,
        )
    return issues


async def store(
    plan_id: str,
    issue: IssueRef,
    plan: PlanDraft,
    issues: dict[str, SubIssue],
    outcome: DraftOutcome,
    prompt_version: str,
) -> None:
    await workflow.execute_activity_method(
        PlannerActivities.store_plan,
        StorePlanInput(
            plan_id=plan_id,
            issue=issue,
            summary=plan.summary,
            prompt_version=prompt_version,
            model=outcome.model,
            input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens,
            cost_usd=outcome.cost_usd,
            tasks=tuple(
                StoredTask(
                    task_id=t.id,
                    position=n,
                    title=t.title,
                    issue_number=issues[t.id].number,
                    depends_on=tuple(t.depends_on),
                )
                for n, t in enumerate(plan.tasks, start=1)
            ),
        ),
        start_to_close_timeout=SHORT,
        retry_policy=DATABASE_RETRY,
    )


async def publish_created(
    plan_id: str,
    issue: IssueRef,
    plan: PlanDraft,
    issues: dict[str, SubIssue],
    outcome: DraftOutcome,
    *,
    prompt_version: str,
    question_rounds: int,
) -> None:
    await workflow.execute_activity_method(
        PlannerActivities.publish_plan_created,
        PlanCreated(
            event_id=f"{plan_id}:created",
            occurred_at=workflow.now(),
            producer=PRODUCER,
            correlation=correlation(issue),
            plan_id=plan_id,
            issue=issue,
            summary=plan.summary,
            tasks=tuple(
                PlannedTask(
                    task_id=t.id,
                    title=t.title,
                    issue_number=issues[t.id].number,
                    depends_on=tuple(t.depends_on),
                )
                for t in plan.tasks
            ),
            prompt_version=prompt_version,
            model=outcome.model,
            question_rounds=question_rounds,
            input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens,
            cost_usd=outcome.cost_usd,
        ),
        start_to_close_timeout=SHORT,
        retry_policy=DATABASE_RETRY,
    )


async def publish_completed(plan_id: str, issue: IssueRef, tasks: int) -> None:
    await workflow.execute_activity_method(
        PlannerActivities.publish_plan_completed,
        PlanCompleted(
            event_id=f"{plan_id}:completed",
            occurred_at=workflow.now(),
            producer=PRODUCER,
            correlation=correlation(issue),
            plan_id=plan_id,
            issue=issue,
            tasks=tasks,
        ),
        start_to_close_timeout=SHORT,
        retry_policy=DATABASE_RETRY,
    )


# The notification carries the questions as posted, bounded: the model's output has no length of its own.
MAX_NOTIFIED_QUESTIONS = 20
MAX_QUESTION_CHARS = 1000


async def publish_needs_input(
    plan_id: str, issue: IssueRef, questions: list[str], round_: int, comment_url: str, label: str
) -> None:
    """Once per round of this plan's run: a plan asked again after a fresh label is another notice."""
    await workflow.execute_activity_method(
        PlannerActivities.publish_plan_needs_input,
        PlanNeedsInput(
            event_id=f"{plan_id}:{workflow.info().run_id}:questions-{round_}",
            occurred_at=workflow.now(),
            producer=PRODUCER,
            correlation=correlation(issue),
            plan_id=plan_id,
            issue=issue,
            round=round_,
            questions=tuple(q[:MAX_QUESTION_CHARS] for q in questions[:MAX_NOTIFIED_QUESTIONS]),
            comment_url=comment_url or None,
            label=label,
        ),
        start_to_close_timeout=SHORT,
        retry_policy=DATABASE_RETRY,
    )


async def release(
    plan_id: str,
    parent: IssueRef,
    task_id: str,
    title: str,
    depends_on: tuple[str, ...],
    sub: SubIssue,
) -> None:
    await task_status(plan_id, task_id, TaskStatus.READY, None)
    await workflow.execute_activity_method(
        PlannerActivities.publish_task_ready,
        TaskReady(
            event_id=f"{plan_id}:{task_id}:ready",
            occurred_at=workflow.now(),
            producer=PRODUCER,
            correlation=Correlation(repo=parent.repo.full_name, issue=sub.number),
            plan_id=plan_id,
            task_id=task_id,
            parent=parent,
            issue=parent.model_copy(update={"number": sub.number}),
            title=title,
            depends_on=depends_on,
        ),
        start_to_close_timeout=SHORT,
        retry_policy=DATABASE_RETRY,
    )


async def post_plan(
    plan_id: str,
    issue: IssueRef,
    plan: PlanDraft,
    issues: dict[str, SubIssue],
    statuses: dict[str, TaskStatus],
    outcome: DraftOutcome,
    prompt_version: str,
    *,
    auto: bool = False,
) -> str:
    text = texts.plan_text(
        plan,
        issues,
        statuses,
        prompt_version=prompt_version,
        model=outcome.model,
        cost_usd=outcome.cost_usd,
        auto=auto,
    )
    return await comment(plan_id, issue, "plan", text)


async def comment(plan_id: str, issue: IssueRef, key: str, body: str) -> str:
    result = await workflow.execute_activity_method(
        PlannerActivities.upsert_comment,
        CommentInput(plan_id=plan_id, issue=issue, key=key, body=body),
        start_to_close_timeout=SHORT,
        retry_policy=GITHUB_RETRY,
    )
    return result.url


async def set_label(issue: IssueRef, label: str, *, present: bool) -> None:
    await workflow.execute_activity_method(
        PlannerActivities.set_label,
        LabelChange(issue=issue, label=label, present=present),
        start_to_close_timeout=SHORT,
        retry_policy=GITHUB_RETRY,
    )


async def task_status(plan_id: str, task_id: str, status: TaskStatus, pull_request: int | None) -> None:
    await workflow.execute_activity_method(
        PlannerActivities.set_task_status,
        TaskStatusUpdate(plan_id=plan_id, task_id=task_id, status=status, pull_request=pull_request),
        start_to_close_timeout=SHORT,
        retry_policy=DATABASE_RETRY,
    )


async def save_status(plan_id: str, issue: IssueRef, status: PlanStatus) -> None:
    await workflow.execute_activity_method(
        PlannerActivities.save_plan_status,
        PlanStatusUpdate(plan_id=plan_id, issue=issue, status=status),
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=DATABASE_RETRY,
    )


def correlation(issue: IssueRef) -> Correlation:
    return Correlation(repo=issue.repo.full_name, issue=issue.number)
