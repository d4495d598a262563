"""The executor's Temporal workers, bound to the process's clients.

Every process polls two task queues: the shared one (workflows and every activity, so any replica can
start or continue any run) and its own "home" queue, `<shared>@<hostname>-<short uuid>`. A run's
worktree is on the disk of the process that cloned it, so the activities that need it (the agent's
iterations, the push, the cleanup) go to that process's home queue; the workflow moves the run to a
fresh worktree when the home's process is gone (lost_homes.py) or does not answer (see
workflows.AgentExecutionWorkflow)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from paid_executor.activities import AgentActivities, ExecutorDeps, GitHubActivities, RunActivities
from paid_executor.activities.admission import AdmissionActivities
from paid_executor.activities.iterations import IterationActivities
from paid_executor.activities.worktrees import release_runs
from paid_executor.cost_rollup import CostRollupActivities, DailyCostRollupWorkflow
from paid_executor.liveness import HomeWatch, answer_for
from paid_executor.lost_homes import LostHomes
from paid_executor.review_activities import ReviewActivities
from paid_executor.review_workflow import ReviewModeWorkflow
from paid_executor.rounds.activities import RoundActivities
from paid_executor.rounds.conversation import PullConversationWorkflow
from paid_executor.workflows import AgentExecutionWorkflow


def home_queue_for(task_queue: str) -> str:
    """A queue name no other process uses: a container's hostname is its id, and the uuid tells apart
    two processes on one host (or one restarted, whose worktrees are no longer in its hands)."""
    return f"{task_queue}@{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


def activities(loop: IterationActivities) -> list[Callable[..., Any]]:
    """Every activity, for the shared queue; prepare_workspace answers with `loop.home_queue` as the
    run's home. The home activities are here too, for runs started before per-worker queues."""
    deps = loop.deps
    runs, github, agent = RunActivities(deps), GitHubActivities(deps), AgentActivities(deps)
    rounds = RoundActivities(deps, home_queue=loop.home_queue)
    review = ReviewActivities(deps, loop.launcher)
    admission = AdmissionActivities(deps)
    return [
        *home_activities(loop),
        admission.admit_run,
        admission.release_run,
        loop.prepare_workspace,
        rounds.prepare_round_workspace,
        rounds.reply_in_threads,
        rounds.post_conversation_comment,
        rounds.publish_follow_up,
        runs.start_run,
        runs.finish_run,
        github.fetch_issue,
        github.open_pull_request,
        github.comment_on_issue,
        agent.render_prompt,
        review.review_pinned_head,
        review.post_mode_review,
        review.explain_review,
    ]


def home_activities(loop: IterationActivities) -> list[Callable[..., Any]]:
    """The activities that need the worktree prepare_workspace left on this process's disk."""
    rounds = RoundActivities(loop.deps, home_queue=loop.home_queue)
    return [loop.run_iteration, loop.publish_change, loop.cleanup_workspace, rounds.publish_round]


def worker_options(deps: ExecutorDeps) -> dict[str, Any]:
    return {
        "graceful_shutdown_timeout": timedelta(seconds=10),
        "max_concurrent_activities": deps.settings.max_concurrent_activities,
        "max_cached_workflows": deps.settings.max_cached_workflows,
        # Cancellation reaches an activity with its next heartbeat: one a second per running agent (the
        # default) kills a cancelled one within about a second; each is also a request the server
        # persists, so a longer interval trades cancel latency for server load (config.py).
        "max_heartbeat_throttle_interval": timedelta(seconds=deps.settings.heartbeat_interval_seconds),
        "default_heartbeat_throttle_interval": timedelta(seconds=deps.settings.heartbeat_interval_seconds),
        # A SIGKILLed replica's cached workflows wait this long before another replica takes their next
        # task (default 10 s): the dominant part of a failover. Shorter only costs a history replay when
        # a busy but live worker misses it.
        "sticky_queue_schedule_to_start_timeout": timedelta(seconds=3),
    }


class ExecutorWorker(Worker):
    """The shared-queue worker, running the process's home-queue worker beside it: they start and stop
    together, and a fatal error in either stops both (the process then exits and is restarted)."""

    def __init__(self, client: Client, deps: ExecutorDeps, *, task_queue: str) -> None:
        self.home_queue = home_queue_for(task_queue)
        # One instance for both queues: one metering proxy per process.
        loop = IterationActivities(deps, home_queue=self.home_queue)
        options = worker_options(deps)
        super().__init__(
            client,
            task_queue=task_queue,
            workflows=[
                AgentExecutionWorkflow,
                PullConversationWorkflow,
                ReviewModeWorkflow,
                DailyCostRollupWorkflow,
            ],
            activities=[*activities(loop), CostRollupActivities(deps.sessions).roll_up_costs],
            **options,
        )
        self.home = Worker(client, task_queue=self.home_queue, activities=home_activities(loop), **options)
        self._broker = deps.broker
        # This process watches the other processes' homes and moves their runs when one is gone.
        self.lost_homes = LostHomes(
            client, deps.sessions, HomeWatch(lambda: deps.broker.connection), own_home=self.home_queue
        )

    async def run(self) -> None:
        shared = asyncio.create_task(super().run(), name="executor-shared-queue")
        home = asyncio.create_task(self.home.run(), name="executor-home-queue")
        # Other processes tell this one's death from its NATS connection closing (liveness.py).
        alive = asyncio.create_task(answer_for(self._broker, self.home_queue), name="executor-liveness")
        watching = asyncio.create_task(self.lost_homes.run(), name="executor-lost-homes")
        try:
            await asyncio.wait({shared, home}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            alive.cancel()
            watching.cancel()
            await self.shutdown()
            await asyncio.wait({shared, home, watching})
            await release_runs(self.home_queue)
        for task in (shared, home):
            task.result()  # raises the first worker's fatal error

    async def shutdown(self) -> None:
        await asyncio.gather(super().shutdown(), self.home.shutdown())


def make_worker(client: Client, deps: ExecutorDeps, *, task_queue: str | None = None) -> ExecutorWorker:
    return ExecutorWorker(client, deps, task_queue=task_queue or deps.settings.task_queue)
