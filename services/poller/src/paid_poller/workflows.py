"""GitHubPollWorkflow: polls one repository for ever, on durable timers, with a bounded history.

An exhausted rate limit is a durable timer until GitHub's reset, not a failure; `pause`/`resume`
signals hold and restart polling; cancelling the workflow stops it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from paid_poller.activities import PollerActivities
    from paid_poller.params import PollInput, PollRepositoryInput, PollStatus

RATE_LIMIT_MARGIN = timedelta(seconds=1)


def poll_workflow_id(owner: str, name: str) -> str:
    return f"poll:{owner}/{name}"


@workflow.defn
class GitHubPollWorkflow:
    def __init__(self) -> None:
        self._status = PollStatus()
        self._paused = False

    @workflow.run
    async def run(self, poll: PollInput) -> None:
        self._paused = poll.paused
        interval = timedelta(seconds=poll.interval_seconds)
        target = PollRepositoryInput(owner=poll.owner, name=poll.name)
        for _ in range(poll.cycles_per_run):
            await workflow.wait_condition(lambda: not self._paused)
            result = await workflow.execute_activity_method(
                PollerActivities.poll_repository,
                target,
                start_to_close_timeout=timedelta(seconds=120),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=5),
                    backoff_coefficient=2.0,
                    maximum_interval=max(interval, timedelta(seconds=5)),
                ),
            )
            if result.interval_seconds:
                interval = timedelta(seconds=result.interval_seconds)
            waits = self._status.rate_limit_waits + (result.rate_limited_until is not None)
            self._status = PollStatus(
                cycles=self._status.cycles + 1,
                published=self._status.published + result.published,
                rate_limit_waits=waits,
                paused=self._paused,
                last=result,
            )
            if result.rate_limited_until is not None:
                # Until GitHub's reset, plus a second: its reset time is rounded to whole seconds.
                until_reset = timedelta(
                    seconds=max(result.rate_limited_until - workflow.now().timestamp(), 0)
                )
                await workflow.sleep(until_reset + RATE_LIMIT_MARGIN)
            else:
                await workflow.sleep(interval)
        workflow.continue_as_new(
            poll.model_copy(update={"paused": self._paused, "interval_seconds": interval.total_seconds()})
        )

    @workflow.signal
    def pause(self) -> None:
        self._paused = True
        self._status = self._status.model_copy(update={"paused": True})

    @workflow.signal
    def resume(self) -> None:
        self._paused = False
        self._status = self._status.model_copy(update={"paused": False})

    @workflow.query
    def status(self) -> PollStatus:
        return self._status
