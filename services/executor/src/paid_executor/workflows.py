"""AgentExecutionWorkflow: one agent run on one issue, from RunStarted to RunFinished."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from paid_contracts import IssueRef, RunOutcome
    from paid_executor.activities import AgentActivities, GitHubActivities, RunActivities
    from paid_executor.params import (
        AgentRunInput,
        AgentRunOutput,
        ExecutionInput,
        ExecutionResult,
        PromptInput,
        PullRequestInfo,
        PullRequestInput,
        RunContext,
        RunReport,
    )

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
GIT_ALLOWANCE = timedelta(minutes=10)  # clone and push, on top of the agent's own time


def workflow_id_for(issue: IssueRef) -> str:
    return f"exec:{issue.repo.full_name}#{issue.number}"


def branch_for(issue: IssueRef) -> str:
    return f"paid/issue-{issue.number}"


class RunFailedError(Exception):
    def __init__(self, outcome: RunOutcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


@workflow.defn(name="AgentExecutionWorkflow")
class AgentExecutionWorkflow:
    def __init__(self) -> None:
        self._change: AgentRunOutput | None = None
        self._pull: PullRequestInfo | None = None
        self._iterations = 0

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
        )
        await workflow.execute_activity_method(
            RunActivities.start_run, run, start_to_close_timeout=QUICK_TIMEOUT, retry_policy=QUICK_RETRY
        )
        cancelled = False
        try:
            outcome, detail = await self._execute(run, request)
        except RunFailedError as failure:
            outcome, detail = failure.outcome, failure.detail
        except asyncio.CancelledError:
            outcome, detail, cancelled = RunOutcome.CANCELLED, "the run was cancelled", True

        report = RunReport(
            run=run,
            outcome=outcome,
            detail=detail,
            duration_seconds=(workflow.now() - started).total_seconds(),
            iterations=self._iterations,
            pull_request=self._pull,
            change=self._change,
        )
        await self._report(report)
        if cancelled:
            raise asyncio.CancelledError
        if outcome is RunOutcome.ERROR:
            # A failed execution lets a later request for the same issue start afresh
            # (WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY).
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


def failure_detail(error: ActivityError) -> str:
    cause = error.cause
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    message = str(cause) if cause is not None else str(error)
    return f"{error.activity_type}: {message}"
