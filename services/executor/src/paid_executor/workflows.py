"""AgentExecutionWorkflow: one agent run on one issue, from RunStarted to RunFinished."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

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
    from paid_executor.admission_gate import AdmissionGate
    from paid_executor.fix_forward import FixForwardLoop
    from paid_executor.params import (
        ExecutionInput,
        ExecutionResult,
        IssueDetails,
        PromptInput,
        PullRequestInput,
        RunContext,
        RunStatus,
    )
    from paid_executor.repo_config import RepoConfig
    from paid_executor.run_failures import HostLostError, RunCancelledError, RunFailedError, failure_detail
    from paid_executor.run_limits import (
        ALONGSIDE_PATCH,
        FETCH_LOCAL_PATCH,
        HOME_LIVENESS_PATCH,
        HOME_QUEUE_PATCH,
        LOOP_PATCH,
        MAX_REHOMES,
        QUICK_RETRY,
        QUICK_TIMEOUT,
        LoopLimits,
    )


def workflow_id_for(issue: IssueRef, attempt: int = FIRST_ATTEMPT) -> str:
    return execution_workflow_id(issue.repo.full_name, issue.number, attempt)


def branch_for(issue: IssueRef) -> str:
    return f"paid/issue-{issue.number}"


@workflow.defn(name=EXECUTION_WORKFLOW)
class AgentExecutionWorkflow(FixForwardLoop, AdmissionGate):
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

    @workflow.signal(name=ExecutionSignal.ADMIT)
    def admission_wake(self) -> None:
        """A slot freed: a queued run looks again now rather than at its next poll."""
        self._wake_for_admission()

    @workflow.signal(name=ExecutionSignal.HOME_LOST)
    def home_lost(self, home_queue: str) -> None:
        """From an executor that saw the process holding `home_queue` go (lost_homes.py): a run homed
        there moves at once; any other run ignores it."""
        self._lost_homes.add(home_queue)

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
            queue_position=self._queue_position,
            queue_reason=self._queue_reason,
        )

    @workflow.run
    async def run(self, request: ExecutionInput) -> ExecutionResult:
        info = workflow.info()
        cancelled = False
        try:
            admitted = await self._await_admission(request)
        except asyncio.CancelledError:  # cancelled through Temporal while queued
            admitted, cancelled = False, True
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
            trigger_agent=request.trigger_agent,
            trigger_model=request.trigger_model,
            experiment_id=request.experiment_id,
            experiment_arm=request.experiment_arm,
            experiment_agent=request.experiment_agent,
            experiment_model=request.experiment_model,
            project_agent=request.project_agent,
            project_model=request.project_model,
        )
        alongside = workflow.patched(ALONGSIDE_PATCH)
        starting = workflow.start_activity_method(
            RunActivities.start_run, run, start_to_close_timeout=QUICK_TIMEOUT, retry_policy=QUICK_RETRY
        )
        if not alongside:
            await starting
        # Every run takes the fix-forward loop. The route before it is gone (its last recorded history
        # with it); histories that recorded this patch's marker still replay, new ones record none.
        workflow.deprecate_patch(LOOP_PATCH)
        try:
            if not admitted:
                outcome, detail = RunOutcome.CANCELLED, "the run was cancelled while it was queued"
            else:
                outcome, detail = await self._execute_loop(run, request, starting)
        except RunFailedError as failure:
            outcome, detail = failure.outcome, failure.detail
        except asyncio.CancelledError:
            outcome, detail, cancelled = RunOutcome.CANCELLED, "the run was cancelled", True
        if not starting.done():  # the run ended before its agent: its start is recorded before its end
            with contextlib.suppress(ActivityError):
                await starting
        await self._cleanup(run)
        self._step = "finished"

        duration = (workflow.now() - started).total_seconds()
        report = self._run_report(run, outcome, detail, duration)
        await self._report(report)
        await self._release_admission()
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

    async def _fetch_issue(self, run: RunContext) -> IssueDetails:
        """The live issue, refused when edited since the trigger, before any worktree exists."""
        fetch, timeout, retry = GitHubActivities.fetch_issue, QUICK_TIMEOUT, QUICK_RETRY
        if not workflow.patched(FETCH_LOCAL_PATCH):
            return await workflow.execute_activity_method(
                fetch, run, start_to_close_timeout=timeout, retry_policy=retry
            )
        try:
            return await workflow.execute_local_activity_method(
                fetch, run, start_to_close_timeout=timeout, retry_policy=retry
            )
        except (ApplicationError, TemporalTimeoutError) as error:  # a local activity's, not an ActivityError
            if self._cancel_requested:
                raise RunCancelledError from error
            raise RunFailedError(RunOutcome.ERROR, f"fetch_issue: {error}") from error

    async def _execute_loop(
        self, run: RunContext, request: ExecutionInput, starting: workflow.ActivityHandle[None]
    ) -> tuple[RunOutcome, str]:
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
            issue = await self._fetch_issue(run)
            rendering = workflow.start_activity_method(
                AgentActivities.render_prompt,
                PromptInput(run=run, issue=issue, branch=branch),
                start_to_close_timeout=QUICK_TIMEOUT,
                retry_policy=QUICK_RETRY,
            )
            if not workflow.patched(ALONGSIDE_PATCH):  # as recorded before: one after the other
                await rendering
            self._homed = workflow.patched(HOME_QUEUE_PATCH)
            self._home_start_timeout = timedelta(seconds=request.home_start_timeout_seconds)
            self._watching_home = self._homed and workflow.patched(HOME_LIVENESS_PATCH)
            workspace = await self._prepare(run, issue, branch, request)
            prompt = await rendering
            await starting  # the start record precedes anything the agent does
            if workspace.config is None:
                return RunOutcome.ERROR, f"no run: {workspace.config_error}"
            config: RepoConfig = workspace.config
            self._chosen_agent = (config.agent, config.model)
            self._experiment_used = workspace.experiment_used
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
                    loop.first_iteration = max(self._iterations, 1)
                    workspace = await self._move(run, issue, branch, request, lost, loop.rehomes)
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
