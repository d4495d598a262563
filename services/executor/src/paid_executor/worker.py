"""The executor's Temporal worker: the workflow and every activity, bound to the process's clients."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from paid_executor.activities import AgentActivities, ExecutorDeps, GitHubActivities, RunActivities
from paid_executor.activities.iterations import IterationActivities
from paid_executor.workflows import AgentExecutionWorkflow


def activities(deps: ExecutorDeps) -> list[Callable[..., Any]]:
    runs, github, agent = RunActivities(deps), GitHubActivities(deps), AgentActivities(deps)
    loop = IterationActivities(deps)
    return [
        loop.prepare_workspace,
        loop.run_iteration,
        loop.publish_change,
        loop.cleanup_workspace,
        runs.start_run,
        runs.finish_run,
        github.fetch_issue,
        github.open_pull_request,
        github.comment_on_issue,
        agent.render_prompt,
        agent.run_agent,
    ]


def make_worker(client: Client, deps: ExecutorDeps, *, task_queue: str | None = None) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or deps.settings.task_queue,
        workflows=[AgentExecutionWorkflow],
        activities=activities(deps),
        graceful_shutdown_timeout=timedelta(seconds=10),
        max_concurrent_activities=deps.settings.max_concurrent_activities,
        # Cancellation reaches an activity with its next heartbeat: one a second per running agent
        # kills a cancelled one within about a second, without flooding the server at 200+ runs.
        max_heartbeat_throttle_interval=timedelta(seconds=1),
        default_heartbeat_throttle_interval=timedelta(seconds=1),
    )
