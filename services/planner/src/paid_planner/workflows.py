"""PlanningWorkflow: an issue becomes a plan comment and ordered sub-issues, released as they merge.

Questions park the workflow on a durable timer (days) until a trusted answer or a re-label arrives;
nothing is created on GitHub until a complete, valid plan exists.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from paid_contracts import (
        Correlation,
        IssueRef,
        PinnedText,
        PlanCompleted,
        PlanCreated,
        PlannedTask,
        TaskReady,
    )
    from paid_contracts.pinned import ISSUE_EDITED_ERROR
    from paid_planner import texts
    from paid_planner.activities import PlannerActivities
    from paid_planner.params import (
        Answer,
        CommentInput,
        DraftInput,
        DraftOutcome,
        LabelChange,
        PinnedContextInput,
        PlanningInput,
        PlanningResult,
        PlanStatus,
        PlanStatusUpdate,
        RepositoryContext,
        StoredTask,
        StorePlanInput,
        SubIssue,
        SubIssueInput,
        TaskMerged,
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


def plan_workflow_id(issue: IssueRef) -> str:
    return f"plan:{issue.key}"


@workflow.defn
class PlanningWorkflow:
    def __init__(self) -> None:
        self._waiting_for_answer = False
        self._answers: list[Answer] = []
        self._merged: list[TaskMerged] = []
        self._actor = ""
        self._pinned: PinnedText | None = None
        self._prompt_version = ""

    @workflow.signal
    def answer(self, answer: Answer) -> None:
        """A comment on the issue or the label applied again; counted only while questions are open."""
        if self._waiting_for_answer and (answer.trusted or answer.author.lower() == self._actor.lower()):
            self._answers.append(answer)
        if answer.pinned is not None and answer.trusted:  # the label applied again vouches for the text now
            self._pinned = answer.pinned

    @workflow.signal
    def task_merged(self, merged: TaskMerged) -> None:
        self._merged.append(merged)

    @workflow.run
    async def run(self, request: PlanningInput) -> PlanningResult:
        plan_id = workflow.info().workflow_id
        self._actor = request.actor
        # A start signal (the label applied again) may already have pinned a newer text.
        self._pinned = self._pinned or request.pinned
        self._prompt_version = request.prompt_version
        await self._status(plan_id, request.issue, PlanStatus.REQUESTED)
        answers: list[Answer] = []
        rounds = 0
        while True:
            context = await self._context(plan_id, request)
            outcome = await self._draft(
                DraftInput(
                    plan_id=plan_id,
                    issue=request.issue,
                    context=context,
                    answers=tuple(answers),
                    prompt_version=request.prompt_version,
                    prompt_template=request.prompt_template,
                )
            )
            if outcome.plan is None:
                await self._give_up(plan_id, request.issue, PlanStatus.FAILED, outcome.failure or "no plan")
            plan = outcome.plan
            if not plan.questions or rounds >= request.max_question_rounds:
                break
            rounds += 1
            answer = await self._ask(plan_id, request, plan.questions, rounds)
            if answer is None:
                days = f"{request.answer_timeout_days:g}"
                detail = f"nobody answered the questions within {days} days"
                await self._give_up(plan_id, request.issue, PlanStatus.UNANSWERED, detail)
            answers.append(answer)
        if not plan.tasks:
            failure = "the model still had questions after every round of answers"
            await self._give_up(plan_id, request.issue, PlanStatus.FAILED, failure)
        issues = await self._create_sub_issues(plan_id, request.issue, plan)
        await self._store(plan_id, request.issue, plan, issues, outcome)
        statuses = {task.id: TaskStatus.PENDING for task in plan.tasks}
        comment = await self._post_plan(plan_id, request.issue, plan, issues, statuses, outcome)
        await workflow.execute_activity_method(
            PlannerActivities.publish_plan_created,
            PlanCreated(
                event_id=f"{plan_id}:created",
                occurred_at=workflow.now(),
                producer=PRODUCER,
                correlation=_correlation(request.issue),
                plan_id=plan_id,
                issue=request.issue,
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
                prompt_version=self._prompt_version,
                model=outcome.model,
                question_rounds=rounds,
                input_tokens=outcome.input_tokens,
                output_tokens=outcome.output_tokens,
                cost_usd=outcome.cost_usd,
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DATABASE_RETRY,
        )
        await self._release_until_done(plan_id, request.issue, plan, issues, statuses, outcome)
        await self._comment(plan_id, request.issue, "done", texts.done_text(len(plan.tasks)))
        await self._status(plan_id, request.issue, PlanStatus.COMPLETED)
        await workflow.execute_activity_method(
            PlannerActivities.publish_plan_completed,
            PlanCompleted(
                event_id=f"{plan_id}:completed",
                occurred_at=workflow.now(),
                producer=PRODUCER,
                correlation=_correlation(request.issue),
                plan_id=plan_id,
                issue=request.issue,
                tasks=len(plan.tasks),
            ),
            start_to_close_timeout=SHORT,
            retry_policy=DATABASE_RETRY,
        )
        return PlanningResult(
            plan_id=plan_id,
            status=PlanStatus.COMPLETED,
            issue_title=context.issue.title,
            comment_url=comment,
            tasks=tuple(issues[t.id] for t in plan.tasks),
            question_rounds=rounds,
        )

    async def _context(self, plan_id: str, request: PlanningInput) -> RepositoryContext:
        """The repository and the issue, the issue's text as pinned by the trigger when there is one."""
        if self._pinned is None:  # a request from before pinned text
            return await workflow.execute_activity_method(
                PlannerActivities.fetch_context,
                request.issue,
                start_to_close_timeout=SHORT,
                retry_policy=GITHUB_RETRY,
            )
        try:
            return await workflow.execute_activity_method(
                PlannerActivities.fetch_pinned_context,
                PinnedContextInput(issue=request.issue, pinned=self._pinned, label=request.label),
                start_to_close_timeout=SHORT,
                retry_policy=GITHUB_RETRY,
            )
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == ISSUE_EDITED_ERROR:
                await self._give_up(plan_id, request.issue, PlanStatus.FAILED, cause.message)
            raise

    async def _give_up(self, plan_id: str, issue: IssueRef, status: PlanStatus, detail: str) -> NoReturn:
        """One comment saying why, nothing created; the workflow fails, so the label applied again
        starts a fresh plan (the subscriber restarts failed plans only)."""
        await self._comment(plan_id, issue, "failed", texts.failure_text(detail))
        await self._status(plan_id, issue, status)
        raise ApplicationError(
            detail, type=f"Plan{status.value.title().replace('_', '')}", non_retryable=True
        )

    async def _draft(self, request: DraftInput) -> DraftOutcome:
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

    async def _ask(
        self, plan_id: str, request: PlanningInput, questions: list[str], round_: int
    ) -> Answer | None:
        """Posts the questions, labels the issue and waits (a durable timer, no worker held) for an answer."""
        text = texts.questions_text(questions, label=request.needs_input_label)
        # Listen before asking: an answer may arrive while the label and status are still being set.
        self._answers.clear()
        self._waiting_for_answer = True
        try:
            await self._comment(plan_id, request.issue, f"questions-{round_}", text)
            await self._label(request.issue, request.needs_input_label, present=True)
            await self._status(plan_id, request.issue, PlanStatus.NEEDS_INPUT)
            await workflow.wait_condition(
                lambda: bool(self._answers), timeout=timedelta(days=request.answer_timeout_days)
            )
        except TimeoutError:
            return None
        finally:
            self._waiting_for_answer = False
        await self._label(request.issue, request.needs_input_label, present=False)
        await self._status(plan_id, request.issue, PlanStatus.REQUESTED)
        return self._answers[0]

    async def _create_sub_issues(
        self, plan_id: str, parent: IssueRef, plan: PlanDraft
    ) -> dict[str, SubIssue]:
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

    async def _store(
        self,
        plan_id: str,
        issue: IssueRef,
        plan: PlanDraft,
        issues: dict[str, SubIssue],
        outcome: DraftOutcome,
    ) -> None:
        await workflow.execute_activity_method(
            PlannerActivities.store_plan,
            StorePlanInput(
                plan_id=plan_id,
                issue=issue,
                summary=plan.summary,
                prompt_version=self._prompt_version,
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

    async def _release_until_done(
        self,
        plan_id: str,
        issue: IssueRef,
        plan: PlanDraft,
        issues: dict[str, SubIssue],
        statuses: dict[str, TaskStatus],
        outcome: DraftOutcome,
    ) -> None:
        by_number = {sub.number: task_id for task_id, sub in issues.items()}
        while True:
            for task in plan.tasks:
                ready = all(statuses[d] is TaskStatus.DONE for d in task.depends_on)
                if statuses[task.id] is TaskStatus.PENDING and ready:
                    await self._release(
                        plan_id, issue, task.id, task.title, tuple(task.depends_on), issues[task.id]
                    )
                    statuses[task.id] = TaskStatus.READY
            await self._post_plan(plan_id, issue, plan, issues, statuses, outcome)
            if all(status is TaskStatus.DONE for status in statuses.values()):
                return
            await workflow.wait_condition(lambda: bool(self._merged))
            while self._merged:
                merged = self._merged.pop(0)
                task_id = by_number.get(merged.issue_number)
                if task_id is None or statuses[task_id] is TaskStatus.DONE:
                    continue
                statuses[task_id] = TaskStatus.DONE
                await self._task_status(plan_id, task_id, TaskStatus.DONE, merged.pull_request)

    async def _release(
        self,
        plan_id: str,
        parent: IssueRef,
        task_id: str,
        title: str,
        depends_on: tuple[str, ...],
        sub: SubIssue,
    ) -> None:
        await self._task_status(plan_id, task_id, TaskStatus.READY, None)
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

    async def _post_plan(
        self,
        plan_id: str,
        issue: IssueRef,
        plan: PlanDraft,
        issues: dict[str, SubIssue],
        statuses: dict[str, TaskStatus],
        outcome: DraftOutcome,
    ) -> str:
        text = texts.plan_text(
            plan,
            issues,
            statuses,
            prompt_version=self._prompt_version,
            model=outcome.model,
            cost_usd=outcome.cost_usd,
        )
        return await self._comment(plan_id, issue, "plan", text)

    async def _comment(self, plan_id: str, issue: IssueRef, key: str, body: str) -> str:
        result = await workflow.execute_activity_method(
            PlannerActivities.upsert_comment,
            CommentInput(plan_id=plan_id, issue=issue, key=key, body=body),
            start_to_close_timeout=SHORT,
            retry_policy=GITHUB_RETRY,
        )
        return result.url

    async def _label(self, issue: IssueRef, label: str, *, present: bool) -> None:
        await workflow.execute_activity_method(
            PlannerActivities.set_label,
            LabelChange(issue=issue, label=label, present=present),
            start_to_close_timeout=SHORT,
            retry_policy=GITHUB_RETRY,
        )

    async def _task_status(
        self, plan_id: str, task_id: str, status: TaskStatus, pull_request: int | None
    ) -> None:
        await workflow.execute_activity_method(
            PlannerActivities.set_task_status,
            TaskStatusUpdate(plan_id=plan_id, task_id=task_id, status=status, pull_request=pull_request),
            start_to_close_timeout=SHORT,
            retry_policy=DATABASE_RETRY,
        )

    async def _status(self, plan_id: str, issue: IssueRef, status: PlanStatus) -> None:
        await workflow.execute_activity_method(
            PlannerActivities.save_plan_status,
            PlanStatusUpdate(plan_id=plan_id, issue=issue, status=status),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DATABASE_RETRY,
        )


def _correlation(issue: IssueRef) -> Correlation:
    return Correlation(repo=issue.repo.full_name, issue=issue.number)
