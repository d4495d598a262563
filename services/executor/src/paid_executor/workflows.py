"""AgentExecutionWorkflow: one agent run on one issue, from RunStarted to RunFinished."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, TimeoutType
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from paid_contracts import IssueRef, RunOutcome
    from paid_contracts.workflow_ids import (
        EXECUTION_STATUS_QUERY,
        EXECUTION_WORKFLOW,
        FIRST_ATTEMPT,
        ExecutionSignal,
        execution_workflow_id,
    )
    from paid_executor.activities import AgentActivities, GitHubActivities, RunActivities
    from paid_executor.activities.iterations import IterationActivities
    from paid_executor.params import (
        AgentRunInput,
        AgentRunOutput,
        ExecutionInput,
        ExecutionResult,
        IssueDetails,
        IterationInput,
        IterationOutput,
        PromptInput,
        PublishInput,
        PullRequestInfo,
        PullRequestInput,
        RunContext,
        RunReport,
        RunStatus,
        WorkspaceInfo,
        WorkspaceInput,
    )
    from paid_executor.repo_config import RepoConfig
    from paid_llm import Usage

# Infrastructure retries only: activities raise non-retryable errors for what a retry cannot fix.
QUICK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)
AGENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=4,
)
QUICK_TIMEOUT = timedelta(seconds=30)
LOOP_PATCH = "fix-forward-loop-1"
HOME_QUEUE_PATCH = "home-queue-1"  # the worktree's activities on its worker's own task queue
MAX_REHOMES = 3  # moves of a run to a fresh worktree after losing its worker; then an honest failure
REPEAT_LIMIT = 3  # the same diff or the same failures this many times: the agent is going in circles
GIT_ALLOWANCE = timedelta(minutes=10)  # clone and push, on top of the agent's own time


def workflow_id_for(issue: IssueRef, attempt: int = FIRST_ATTEMPT) -> str:
    return execution_workflow_id(issue.repo.full_name, issue.number, attempt)


def branch_for(issue: IssueRef) -> str:
    return f"paid/issue-{issue.number}"


T = TypeVar("T")


class RunCancelledError(Exception):
    """The `cancel` signal arrived; raised at a safe point."""


class HostLostError(Exception):
    """The worker holding the run's worktree did not answer: the run must move to a fresh one."""

    def __init__(self, detail: str, *, unreachable: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.unreachable = unreachable  # nobody polls its queue: no use asking it to clean up


@dataclass
class LoopLimits:
    started: datetime
    time_limit: float
    max_iterations: int
    first_iteration: int = 1
    rehomes: int = 0


class RunFailedError(Exception):
    def __init__(self, outcome: RunOutcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


@workflow.defn(name=EXECUTION_WORKFLOW)
class AgentExecutionWorkflow:
    def __init__(self) -> None:
        self._change: AgentRunOutput | None = None
        self._pull: PullRequestInfo | None = None
        self._iterations = 0
        self._max_iterations: int | None = None
        self._step = "starting"
        self._paused = False
        self._cancel_requested = False
        self._instructions: list[str] = []
        self._tokens = 0
        self._cost = 0.0
        self._chosen_agent: tuple[str | None, str | None] = (None, None)  # from .paid.yml and the project
        self._usage: Usage | None = None
        self._last_output = ""
        self._last_failure: str | None = None
        self._current: asyncio.Task[object] | None = None
        self._homed = False
        # The task queue of the worker holding the worktree; None before the home-queue patch, or when
        # an older worker prepared the worktree: the worktree's activities then use the shared queue.
        self._home: str | None = None
        self._home_start_timeout = timedelta(seconds=30)

    @workflow.signal(name=ExecutionSignal.CANCEL)
    def cancel(self, reason: str = "") -> None:
        """Stops the run: the agent's process is killed, cleanup runs, the outcome is cancelled.

        `reason` (optional, from the API or CLI) is logged; the run's comment says it was cancelled."""
        workflow.logger.info("cancel requested%s", f": {reason}" if reason else "")
        self._cancel_requested = True
        if self._current is not None and not self._current.done():
            self._current.cancel()

    @workflow.signal(name=ExecutionSignal.PAUSE)
    def pause(self) -> None:
        """Holds the run at the next safe point (between iterations) until `resume`."""
        self._paused = True

    @workflow.signal(name=ExecutionSignal.RESUME)
    def resume(self) -> None:
        self._paused = False

    @workflow.signal(name=ExecutionSignal.INSTRUCT)
    def inject_instruction(self, instruction: str) -> None:
        """Queued into the next iteration's prompt."""
        if instruction.strip():
            self._instructions.append(instruction.strip())

    @workflow.query(name=EXECUTION_STATUS_QUERY)
    def status(self) -> RunStatus:
        return RunStatus(
            step=self._step,
            iteration=self._iterations,
            max_iterations=self._max_iterations,
            paused=self._paused,
            cancel_requested=self._cancel_requested,
            tokens=self._tokens,
            cost_usd=self._cost,
            last_output=self._last_output,
            pending_instructions=len(self._instructions),
        )

    @workflow.run
    async def run(self, request: ExecutionInput) -> ExecutionResult:
        info = workflow.info()
        started = workflow.now()
        run = RunContext(
            run_id=info.run_id,
            workflow_id=info.workflow_id,
            issue=request.issue,
            agent=request.agent,
            prompt_version=request.prompt_version,
            started_at=started,
            prompt_template=request.prompt_template,
            pinned=request.pinned,
            trigger_label=request.label,
        )
        await workflow.execute_activity_method(
            RunActivities.start_run, run, start_to_close_timeout=QUICK_TIMEOUT, retry_policy=QUICK_RETRY
        )
        cancelled = False
        loop = workflow.patched(LOOP_PATCH)
        try:
            if loop:
                outcome, detail = await self._execute_loop(run, request)
            else:
                outcome, detail = await self._execute(run, request)
        except RunFailedError as failure:
            outcome, detail = failure.outcome, failure.detail
        except asyncio.CancelledError:
            outcome, detail, cancelled = RunOutcome.CANCELLED, "the run was cancelled", True
        if loop:
            await self._cleanup(run)
        self._step = "finished"

        report = RunReport(
            run=run,
            outcome=outcome,
            detail=detail,
            duration_seconds=(workflow.now() - started).total_seconds(),
            iterations=self._iterations,
            pull_request=self._pull,
            change=self._change,
            last_failure=self._last_failure if loop else None,
            tokens=self._tokens if loop else None,
            cost_usd=self._cost if loop else None,
            agent=self._chosen_agent[0],
            model=self._chosen_agent[1],
            usage=self._usage if loop else None,
        )
        await self._report(report)
        if cancelled:
            raise asyncio.CancelledError
        if outcome is RunOutcome.ERROR:
            # The execution ends as failed, so Temporal, the dashboard and the CLI show it as one.
            raise ApplicationError(detail, type="RunFailed", non_retryable=True)
        return ExecutionResult(
            run_id=run.run_id,
            outcome=outcome,
            detail=detail,
            pull_request_url=self._pull.url if self._pull else None,
            pull_request_number=self._pull.number if self._pull else None,
        )

    async def _execute(self, run: RunContext, request: ExecutionInput) -> tuple[RunOutcome, str]:
        branch = branch_for(run.issue)
        try:
            issue = await workflow.execute_activity_method(
                GitHubActivities.fetch_issue,
                run,
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
            prompt = await workflow.execute_activity_method(
                AgentActivities.render_prompt,
                PromptInput(run=run, issue=issue, branch=branch),
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
            self._iterations = 1
            self._change = await workflow.execute_activity_method(
                AgentActivities.run_agent,
                AgentRunInput(
                    run=run,
                    issue=issue,
                    prompt=prompt,
                    branch=branch,
                    timeout_seconds=request.agent_timeout_seconds,
                ),
                start_to_close_timeout=timedelta(seconds=request.agent_timeout_seconds) + GIT_ALLOWANCE,
                heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_seconds),
                retry_policy=AGENT_RETRY,
            )
            if self._change.changed_files == 0:
                return RunOutcome.NO_CHANGES, "the agent changed no file"
            self._pull = await workflow.execute_activity_method(
                GitHubActivities.open_pull_request,
                PullRequestInput(run=run, issue=issue, change=self._change),
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
        except ActivityError as error:
            raise RunFailedError(RunOutcome.ERROR, failure_detail(error)) from error
        return RunOutcome.SUCCEEDED, f"pull request #{self._pull.number} is open"

    async def _execute_loop(self, run: RunContext, request: ExecutionInput) -> tuple[RunOutcome, str]:
        """Fix forward: agent -> checks -> only the failures back to the agent, until the checks pass
        or a limit (iterations, repetition, time, tokens, cost) stops it. Cancellation is an outcome.

        The worktree lives on the worker process that cloned it; the activities that need it run on
        that process's own task queue. When that worker is lost the run moves (re-homes) to a fresh
        clone on whichever worker takes it, at most MAX_REHOMES times. Nothing of a run is pushed
        before publish_change, so the lost worktree's iterations are lost work: the new home starts
        from the default branch again, without the lost iterations' feedback (it described files the
        new worktree does not have), and the iteration that was lost is done again under its number.
        Tokens, cost, time and the iteration count carry over, so the limits bound the whole run."""
        branch = branch_for(run.issue)
        started = workflow.now()
        try:
            issue = await workflow.execute_activity_method(
                GitHubActivities.fetch_issue,
                run,
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
            prompt = await workflow.execute_activity_method(
                AgentActivities.render_prompt,
                PromptInput(run=run, issue=issue, branch=branch),
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
            self._homed = workflow.patched(HOME_QUEUE_PATCH)
            self._home_start_timeout = timedelta(seconds=request.home_start_timeout_seconds)
            workspace = await self._prepare(run, issue, branch, request)
            if workspace.config is None:
                return RunOutcome.ERROR, f"no run: {workspace.config_error}"
            config: RepoConfig = workspace.config
            self._chosen_agent = (config.agent, config.model)
            # The commit, the pull request and the comments name the agent that ran, as chosen.
            run = run.model_copy(update={"agent": config.agent or run.agent})
            if raised := config.budget_raise(
                max_tokens=request.max_tokens, max_cost_usd=request.max_cost_usd
            ):
                return RunOutcome.ERROR, f"no run: {raised}"
            max_iterations = request.max_iterations or config.max_iterations
            self._max_iterations = max_iterations
            limits = [
                seconds
                for seconds in (
                    request.time_limit_seconds,
                    config.time_limit_minutes * 60 if config.time_limit_minutes else None,
                    request.agent_timeout_seconds,
                )
                if seconds
            ]
            loop = LoopLimits(started=started, time_limit=min(limits), max_iterations=max_iterations)
            while True:
                try:
                    ended = await self._fix_forward(
                        run, request, issue, prompt, branch, workspace, config, loop
                    )
                    break
                except HostLostError as lost:
                    loop.rehomes += 1
                    if loop.rehomes > MAX_REHOMES:
                        return RunOutcome.ERROR, (
                            f"the worker holding the run's worktree was lost {loop.rehomes} times, more than "
                            f"the {MAX_REHOMES} moves a run may make; the last time: {lost.detail}"
                        )
                    workflow.logger.warning("run %s lost its worker (%s); moving it", run.run_id, lost.detail)
                    await self._progress(
                        run,
                        f"the worker holding this run's worktree was lost ({lost.detail}); starting "
                        f"again from a fresh clone on another worker (move {loop.rehomes} of at most "
                        f"{MAX_REHOMES})",
                    )
                    if not lost.unreachable:  # the old home may still be up: stop its agent, free its disk
                        await self._cleanup(run)
                    loop.first_iteration = max(self._iterations, 1)
                    workspace = await self._prepare(run, issue, branch, request)
                    if workspace.config is None:
                        return RunOutcome.ERROR, f"no run: {workspace.config_error}"
            if ended is not None:
                return ended
            assert self._change is not None
            self._pull = await workflow.execute_activity_method(
                GitHubActivities.open_pull_request,
                PullRequestInput(
                    run=run, issue=issue, change=self._change, draft=True, iterations=self._iterations
                ),
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
        except ActivityError as error:
            if self._cancel_requested:
                return RunOutcome.CANCELLED, "the run was cancelled on request"
            raise RunFailedError(RunOutcome.ERROR, failure_detail(error)) from error
        except RunCancelledError:
            return RunOutcome.CANCELLED, "the run was cancelled on request"
        return RunOutcome.SUCCEEDED, f"pull request #{self._pull.number} is open"

    async def _prepare(
        self, run: RunContext, issue: IssueDetails, branch: str, request: ExecutionInput
    ) -> WorkspaceInfo:
        """Clones on whichever worker takes the task from the shared queue; that worker is the home."""
        self._step = "clone"
        workspace = await self._activity(
            workflow.start_activity_method(
                IterationActivities.prepare_workspace,
                WorkspaceInput(run=run, issue=issue, branch=branch),
                start_to_close_timeout=GIT_ALLOWANCE,
                heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_seconds),
                retry_policy=QUICK_RETRY,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        )
        self._home = workspace.task_queue if self._homed else None
        return workspace

    async def _fix_forward(
        self,
        run: RunContext,
        request: ExecutionInput,
        issue: IssueDetails,
        prompt: str,
        branch: str,
        workspace: WorkspaceInfo,
        config: RepoConfig,
        loop: LoopLimits,
    ) -> tuple[RunOutcome, str] | None:
        """Iterates in one worktree and publishes its change (then None, with self._change set), or
        returns how the run ended. HostLostError when the worktree's worker does not answer."""
        diffs: dict[str, int] = {}
        outputs: dict[str, int] = {}
        feedback: str | None = None
        last: IterationOutput | None = None
        try:
            for iteration in range(loop.first_iteration, loop.max_iterations + 1):
                await self._safe_point()
                remaining = loop.time_limit - (workflow.now() - loop.started).total_seconds()
                if remaining <= 0:
                    return (
                        RunOutcome.BUDGET_EXCEEDED,
                        f"budget exceeded: the time limit of {loop.time_limit:g} s ran out",
                    )
                instructions = tuple(self._instructions)
                self._instructions.clear()
                self._iterations = iteration
                self._step = "agent"
                last = await self._activity(
                    workflow.start_activity_method(
                        IterationActivities.run_iteration,
                        IterationInput(
                            run=run,
                            issue=issue,
                            branch=branch,
                            base_sha=workspace.base_sha,
                            iteration=iteration,
                            prompt=prompt,
                            feedback=feedback,
                            instructions=instructions,
                            config=config,
                            sandbox=request.sandbox,
                            timeout_seconds=remaining,
                            max_tokens=request.max_tokens,
                            max_cost_usd=request.max_cost_usd,
                            spent_tokens=self._tokens,
                            spent_cost_usd=self._cost,
                            rehomes=loop.rehomes,
                        ),
                        start_to_close_timeout=timedelta(seconds=remaining) + GIT_ALLOWANCE,
                        heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_seconds),
                        retry_policy=AGENT_RETRY,
                        cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                        task_queue=self._home,
                        schedule_to_start_timeout=self._home_start_timeout if self._home else None,
                    )
                )
                self._tokens += last.tokens
                self._cost += last.cost_usd
                if last.usage is not None:
                    self._usage = last.usage if self._usage is None else self._usage + last.usage
                self._last_output = last.last_output
                if last.budget_exceeded:
                    return RunOutcome.BUDGET_EXCEEDED, f"budget exceeded: {last.budget_exceeded}"
                if over := self._over_budget(request):
                    return RunOutcome.BUDGET_EXCEEDED, f"budget exceeded: {over}"
                problems = [check.output for check in last.failed_checks]
                if last.forbidden:
                    problems.append(
                        "You changed paths this repository does not let Paid change; revert them: "
                        + ", ".join(last.forbidden)
                    )
                if config.max_changed_lines is not None and last.changed_lines > config.max_changed_lines:
                    problems.append(
                        f"The change has {last.changed_lines} changed lines; the limit is "
                        f"{config.max_changed_lines}. Make it smaller."
                    )
                self._last_failure = "\n\n".join(problems) or None
                if not problems:
                    break
                diffs[last.diff_hash] = diffs.get(last.diff_hash, 0) + 1
                if last.output_hash:
                    outputs[last.output_hash] = outputs.get(last.output_hash, 0) + 1
                if diffs[last.diff_hash] >= REPEAT_LIMIT or outputs.get(last.output_hash, 0) >= REPEAT_LIMIT:
                    what = "diff" if diffs[last.diff_hash] >= REPEAT_LIMIT else "failures"
                    return self._stuck_outcome(last), (
                        f"stopped after {iteration} iterations: the agent produced the same "
                        f"{what} {REPEAT_LIMIT} times"
                    )
                feedback = self._last_failure
                await self._progress(
                    run, f"iteration {iteration} of {loop.max_iterations} left failures; trying again"
                )
            assert last is not None
            if self._last_failure is not None:
                return self._stuck_outcome(last), (
                    f"after {loop.max_iterations} iteration(s) "
                    + ("the tests still fail" if last.failed_checks else "the change still breaks the limits")
                )
            if not last.changed_files:
                return RunOutcome.NO_CHANGES, "the agent changed no file"
            await self._safe_point()
            self._step = "publish"
            self._change = await workflow.execute_activity_method(
                IterationActivities.publish_change,
                PublishInput(
                    run=run,
                    issue=issue,
                    branch=branch,
                    base_sha=workspace.base_sha,
                    summary=last.result.summary,
                    result=last.result,
                    last_output=last.last_output,
                ),
                start_to_close_timeout=GIT_ALLOWANCE,
                heartbeat_timeout=timedelta(seconds=max(request.heartbeat_timeout_seconds, 30)),
                retry_policy=QUICK_RETRY,
                task_queue=self._home,
                schedule_to_start_timeout=self._home_start_timeout if self._home else None,
            )
        except ActivityError as error:
            if self._home is not None and not self._cancel_requested and (lost := host_lost(error)):
                waited = self._home_start_timeout.total_seconds()
                detail = {
                    "unreachable": f"{error.activity_type} waited {waited:g} s on {self._home} and no "
                    "worker took it",
                    "silent": f"{error.activity_type} stopped heartbeating on {self._home}",
                    "missing": failure_detail(error),
                }[lost]
                raise HostLostError(detail, unreachable=lost == "unreachable") from error
            raise
        return None

    async def _activity(self, handle: workflow.ActivityHandle[T]) -> T:
        """Awaits an activity that the `cancel` signal may interrupt."""
        if self._cancel_requested:
            handle.cancel()
        self._current = handle
        try:
            return await handle
        finally:
            self._current = None

    async def _safe_point(self) -> None:
        if self._paused:
            self._step = "paused"
            await workflow.wait_condition(lambda: not self._paused or self._cancel_requested)
        if self._cancel_requested:
            raise RunCancelledError

    def _over_budget(self, request: ExecutionInput) -> str | None:
        if request.max_tokens is not None and self._tokens >= request.max_tokens:
            return f"the run used {self._tokens} tokens of its budget of {request.max_tokens}"
        if request.max_cost_usd is not None and self._cost >= request.max_cost_usd:
            return f"the run spent ${self._cost:.4f} of its budget of ${request.max_cost_usd:.2f}"
        return None

    @staticmethod
    def _stuck_outcome(last: IterationOutput) -> RunOutcome:
        return RunOutcome.TESTS_FAILING if last.failed_checks else RunOutcome.ITERATION_LIMIT

    async def _progress(self, run: RunContext, detail: str) -> None:
        report = RunReport(
            run=run,
            outcome=RunOutcome.SUCCEEDED,  # unused while not final
            detail=detail,
            duration_seconds=(workflow.now() - run.started_at).total_seconds(),
            iterations=self._iterations,
            final=False,
            last_failure=self._last_failure,
            tokens=self._tokens,
            cost_usd=self._cost,
        )
        try:
            await workflow.execute_activity_method(
                GitHubActivities.comment_on_issue,
                report,
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as error:  # progress is a courtesy; the final comment is what counts
            workflow.logger.warning("progress comment failed: %s", failure_detail(error))

    async def _cleanup(self, run: RunContext) -> None:
        self._step = "cleanup"
        try:
            await workflow.execute_activity_method(
                IterationActivities.cleanup_workspace,
                run,
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
                task_queue=self._home,
                schedule_to_start_timeout=self._home_start_timeout if self._home else None,
            )
        except ActivityError as error:  # the orphan reaper removes what is left
            workflow.logger.warning("cleanup of %s failed: %s", run.run_id, failure_detail(error))

    async def _report(self, report: RunReport) -> None:
        """Comments on the issue, then records and announces the end; a failed comment is noted, not fatal."""
        try:
            await workflow.execute_activity_method(
                GitHubActivities.comment_on_issue,
                report,
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
        except ActivityError as error:
            workflow.logger.warning(
                "could not comment on %s: %s", report.run.issue.key, failure_detail(error)
            )
            detail = f"{report.detail}; the result comment failed: {failure_detail(error)}".lstrip("; ")
            report = report.model_copy(update={"detail": detail})
        await workflow.execute_activity_method(
            RunActivities.finish_run, report, start_to_close_timeout=QUICK_TIMEOUT, retry_policy=QUICK_RETRY
        )


def host_lost(error: ActivityError) -> Literal["unreachable", "silent", "missing"] | None:
    """How the worktree's worker was lost, if that is why the activity failed: nobody took the task
    from its queue, its heartbeats stopped (after every retry), or it no longer has the worktree."""
    cause = error.cause
    if isinstance(cause, TimeoutError):
        if cause.type is TimeoutType.SCHEDULE_TO_START:
            return "unreachable"
        if cause.type is TimeoutType.HEARTBEAT:
            return "silent"
    if isinstance(cause, ApplicationError) and cause.type == "WorktreeMissing":
        return "missing"
    return None


def failure_detail(error: ActivityError) -> str:
    cause = error.cause
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    message = str(cause) if cause is not None else str(error)
    return f"{error.activity_type}: {message}"
