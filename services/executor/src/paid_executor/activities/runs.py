"""The run's bookkeeping: the executor's runs table and the run events on NATS."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from paid_contracts import Correlation, RunFinished, RunStarted
from paid_executor import repo
from paid_executor.activities.deps import PRODUCER, ExecutorDeps, run_job
from paid_executor.params import RunContext, RunReport
from paid_runtime.job_tokens import release_job
from paid_runtime.messaging import publish_event
from paid_runtime.metrics import record_run_finished


def correlation(run: RunContext) -> Correlation:
    return Correlation(repo=run.issue.repo.full_name, issue=run.issue.number, run=run.run_id)


class RunActivities:
    def __init__(self, deps: ExecutorDeps) -> None:
        self.deps = deps

    @activity.defn(name="start_run")
    async def start_run(self, run: RunContext) -> None:
        async with self.deps.sessions() as session:
            await repo.record_run_started(
                session,
                run_id=run.run_id,
                workflow_id=run.workflow_id,
                repo=run.issue.repo.full_name,
                issue=run.issue.number,
                agent=run.agent,
                prompt_version=run.prompt_version,
                started_at=run.started_at,
            )
        event = RunStarted(
            event_id=f"{run.run_id}:started",
            producer=PRODUCER,
            correlation=correlation(run),
            run_id=run.run_id,
            workflow_id=run.workflow_id,
            issue=run.issue,
            agent=run.agent,
            prompt_version=run.prompt_version,
        )
        await publish_event(self.deps.broker, event)

    @activity.defn(name="finish_run")
    async def finish_run(self, report: RunReport) -> None:
        """Revokes the run's GitHub tokens (its last GitHub step, the result comment, is done), then
        records and announces the end."""
        run, pr, change = report.run, report.pull_request, report.change
        await release_job(self.deps.credentials, run_job(run))
        usage = change.result if change else None
        metered = report.usage
        async with self.deps.sessions() as session:
            await repo.update_run(
                session,
                run_id=run.run_id,
                status=report.outcome.value,
                detail=report.detail,
                branch=change.branch if change else None,
                head_sha=change.head_sha if change else None,
                pull_request_url=pr.url if pr else None,
                pull_request_number=pr.number if pr else None,
                input_tokens=metered.input_tokens if metered else usage.input_tokens if usage else None,
                output_tokens=metered.output_tokens if metered else usage.output_tokens if usage else None,
                cost_usd=report.cost_usd
                if report.cost_usd is not None
                else usage.cost_usd
                if usage
                else None,
                finished_at=datetime.now(UTC),
            )
        event = RunFinished(
            event_id=f"{run.run_id}:finished",
            producer=PRODUCER,
            correlation=correlation(run),
            run_id=run.run_id,
            workflow_id=run.workflow_id,
            issue=run.issue,
            agent=report.agent or run.agent,
            model=report.model,
            prompt_version=run.prompt_version,
            outcome=report.outcome,
            started_at=run.started_at.isoformat(),
            duration_seconds=max(report.duration_seconds, 0.0),
            iterations=report.iterations,
            pull_request_url=pr.url if pr else None,
            pull_request_number=pr.number if pr else None,
            detail=report.detail,
            input_tokens=metered.input_tokens if metered else usage.input_tokens if usage else None,
            output_tokens=metered.output_tokens if metered else usage.output_tokens if usage else None,
            cost_usd=report.cost_usd if report.cost_usd is not None else usage.cost_usd if usage else None,
            cache_read_tokens=metered.cache_read_tokens if metered else None,
            cache_write_tokens=metered.cache_write_tokens if metered else None,
            reasoning_tokens=metered.reasoning_tokens if metered else None,
            iteration_summaries=report.iteration_summaries,
            experiment_id=run.experiment_id if report.experiment_used else None,
            arm=run.experiment_arm if report.experiment_used else None,
        )
        await publish_event(self.deps.broker, event)
        record_run_finished(event)
