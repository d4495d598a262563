"""GitHubPollWorkflow: polls one repository for ever, on a durable timer, with a bounded history."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from paid_poller.activities import PollerActivities
    from paid_poller.params import PollInput, PollRepositoryInput, PollStatus


def poll_workflow_id(owner: str, name: str) -> str:
    return f"poll:{owner}/{name}"


@workflow.defn
class GitHubPollWorkflow:
    def __init__(self) -> None:
        self._status = PollStatus()

    @workflow.run
    async def run(self, poll: PollInput) -> None:
        interval = timedelta(seconds=poll.interval_seconds)
        target = PollRepositoryInput(owner=poll.owner, name=poll.name)
        for _ in range(poll.cycles_per_run):
            result = await workflow.execute_activity_method(
                PollerActivities.poll_repository,
                target,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=5),
                    backoff_coefficient=2.0,
                    maximum_interval=max(interval, timedelta(seconds=5)),
                ),
            )
            self._status = PollStatus(
                cycles=self._status.cycles + 1,
                changed_issues=self._status.changed_issues + result.changed_issues,
                last=result,
            )
            await workflow.sleep(interval)
        workflow.continue_as_new(poll)

    @workflow.query
    def status(self) -> PollStatus:
        return self._status
