"""The run's comments and records: progress on the issue, the final comment, then the record and its
announcement, and the worktree's cleanup."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from paid_contracts import RunOutcome
    from paid_executor.activities import GitHubActivities, RunActivities
    from paid_executor.activities.iterations import IterationActivities
    from paid_executor.params import RunContext, RunReport
    from paid_executor.run_failures import failure_detail
    from paid_executor.run_limits import QUICK_RETRY, QUICK_TIMEOUT
    from paid_executor.run_state import RunState


class RunReporting(RunState):
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
