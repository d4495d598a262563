"""PlanningWorkflow: an issue becomes a plan comment and ordered sub-issues, released as they merge.

Questions park the workflow on a durable timer (days) until a trusted answer or a re-label arrives;
nothing is created on GitHub until a complete, valid plan exists. Here: the signals and the loop;
each step that is one activity (comments, labels, statuses, the draft, sub-issues, events) is in
plan_steps.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from paid_contracts import IssueRef, PinnedText
    from paid_contracts.pinned import ISSUE_EDITED_ERROR
    from paid_planner import texts
    from paid_planner.activities import PlannerActivities
    from paid_planner.params import (
        Answer,
        DraftInput,
        DraftOutcome,
        PinnedContextInput,
        PlanningInput,
        PlanningResult,
        PlanStatus,
        RepositoryContext,
        SubIssue,
        TaskBuilt,
        TaskMerged,
        TaskStatus,
    )
    from paid_planner.plan_schema import PlanDraft

from paid_planner import plan_steps as steps
from paid_planner.plan_steps import GITHUB_RETRY, SHORT

# Histories recorded before plans announced their questions replay without the announcement.
NEEDS_INPUT_EVENT = "plan-needs-input-event"


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
        self._built: list[TaskBuilt] = []
        self._auto = False
        self._auto_stopped = False

    @workflow.signal
    def answer(self, answer: Answer) -> None:
        """A comment on the issue or the label applied again; counted only while questions are open."""
        if self._waiting_for_answer and (answer.trusted or answer.author.lower() == self._actor.lower()):
            self._answers.append(answer)
        if answer.pinned is not None and answer.trusted:  # the label applied again vouches for the text now
            self._pinned = answer.pinned
        if answer.auto and answer.trusted:  # the auto label: a plan goes on in auto mode (until it stops)
            self._auto = True

    @workflow.signal
    def task_merged(self, merged: TaskMerged) -> None:
        self._merged.append(merged)

    @workflow.signal
    def task_built(self, built: TaskBuilt) -> None:
        """A run on a sub-issue ended; only auto mode acts on it (a plain plan waits for merges)."""
        self._built.append(built)

    @property
    def _releasing_on_pull_requests(self) -> bool:
        return self._auto and not self._auto_stopped

    @workflow.run
    async def run(self, request: PlanningInput) -> PlanningResult:
        plan_id = workflow.info().workflow_id
        self._actor = request.actor
        # A start signal (the label applied again) may already have pinned a newer text.
        self._pinned = self._pinned or request.pinned
        self._prompt_version = request.prompt_version
        self._auto = self._auto or request.auto
        await steps.save_status(plan_id, request.issue, PlanStatus.REQUESTED)
        answers: list[Answer] = []
        rounds = 0
        while True:
            context = await self._context(plan_id, request)
            outcome = await steps.draft(
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
        issues = await steps.create_sub_issues(plan_id, request.issue, plan)
        await steps.store(plan_id, request.issue, plan, issues, outcome, self._prompt_version)
        statuses = {task.id: TaskStatus.PENDING for task in plan.tasks}
        comment = await steps.post_plan(
            plan_id,
            request.issue,
            plan,
            issues,
            statuses,
            outcome,
            self._prompt_version,
            auto=self._releasing_on_pull_requests,
        )
        await steps.publish_created(
            plan_id,
            request.issue,
            plan,
            issues,
            outcome,
            prompt_version=self._prompt_version,
            question_rounds=rounds,
        )
        await self._release_until_done(plan_id, request.issue, plan, issues, statuses, outcome)
        await steps.comment(plan_id, request.issue, "done", texts.done_text(len(plan.tasks)))
        await steps.save_status(plan_id, request.issue, PlanStatus.COMPLETED)
        await steps.publish_completed(plan_id, request.issue, len(plan.tasks))
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
        await steps.comment(plan_id, issue, "failed", texts.failure_text(detail))
        await steps.save_status(plan_id, issue, status)
        raise ApplicationError(
            detail, type=f"Plan{status.value.title().replace('_', '')}", non_retryable=True
        )

    async def _ask(
        self, plan_id: str, request: PlanningInput, questions: list[str], round_: int
    ) -> Answer | None:
        """Posts the questions, labels the issue and waits (a durable timer, no worker held) for an answer."""
        text = texts.questions_text(questions, label=request.needs_input_label)
        # Listen before asking: an answer may arrive while the label and status are still being set.
        self._answers.clear()
        self._waiting_for_answer = True
        try:
            asked = await steps.comment(plan_id, request.issue, f"questions-{round_}", text)
            await steps.set_label(request.issue, request.needs_input_label, present=True)
            await steps.save_status(plan_id, request.issue, PlanStatus.NEEDS_INPUT)
            if workflow.patched(NEEDS_INPUT_EVENT):
                label = request.needs_input_label
                await steps.publish_needs_input(plan_id, request.issue, questions, round_, asked, label)
            await workflow.wait_condition(
                lambda: bool(self._answers), timeout=timedelta(days=request.answer_timeout_days)
            )
        except TimeoutError:
            return None
        finally:
            self._waiting_for_answer = False
        await steps.set_label(request.issue, request.needs_input_label, present=False)
        await steps.save_status(plan_id, request.issue, PlanStatus.REQUESTED)
        return self._answers[0]

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
                if statuses[task.id] is TaskStatus.PENDING and self._may_build(task.depends_on, statuses):
                    await steps.release(
                        plan_id, issue, task.id, task.title, tuple(task.depends_on), issues[task.id]
                    )
                    statuses[task.id] = TaskStatus.READY
            await steps.post_plan(
                plan_id,
                issue,
                plan,
                issues,
                statuses,
                outcome,
                self._prompt_version,
                auto=self._releasing_on_pull_requests,
            )
            if all(status is TaskStatus.DONE for status in statuses.values()):
                return
            # A plain plan wakes for merges only, as before auto mode (its recorded histories replay).
            await workflow.wait_condition(lambda: bool(self._merged) or (self._auto and bool(self._built)))
            while self._merged:
                merged = self._merged.pop(0)
                task_id = by_number.get(merged.issue_number)
                if task_id is None or statuses[task_id] is TaskStatus.DONE:
                    continue
                statuses[task_id] = TaskStatus.DONE
                await steps.task_status(plan_id, task_id, TaskStatus.DONE, merged.pull_request)
            while self._built and self._auto:
                await self._take_built(plan_id, issue, plan, statuses, by_number, self._built.pop(0))

    def _may_build(self, depends_on: list[str], statuses: dict[str, TaskStatus]) -> bool:
        """Its dependencies are merged; in auto mode, an open pull request of theirs is enough."""
        enough = (
            {TaskStatus.DONE, TaskStatus.BUILT} if self._releasing_on_pull_requests else {TaskStatus.DONE}
        )
        return all(statuses[d] in enough for d in depends_on)

    async def _take_built(
        self,
        plan_id: str,
        issue: IssueRef,
        plan: PlanDraft,
        statuses: dict[str, TaskStatus],
        by_number: dict[int, str],
        built: TaskBuilt,
    ) -> None:
        """Auto mode: a released task's pull request lets its dependents go; its failure stops auto mode
        with one comment (a later failure adds none). A redelivered or stale run's end changes nothing."""
        task_id = by_number.get(built.issue_number)
        if task_id is None:
            return
        status = statuses[task_id]
        if built.opened_pull_request and status in {TaskStatus.READY, TaskStatus.FAILED}:
            statuses[task_id] = TaskStatus.BUILT
            await steps.task_status(plan_id, task_id, TaskStatus.BUILT, built.pull_request)
        elif not built.opened_pull_request and status is TaskStatus.READY:
            statuses[task_id] = TaskStatus.FAILED
            await steps.task_status(plan_id, task_id, TaskStatus.FAILED, None)
            if self._auto_stopped:
                return
            self._auto_stopped = True
            title = next(task.title for task in plan.tasks if task.id == task_id)
            text = texts.auto_stopped_text(title, built.issue_number, built.outcome.value)
            await steps.comment(plan_id, issue, "auto-stopped", text)
