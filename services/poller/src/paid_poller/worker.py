"""The poller's Temporal worker."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from paid_poller.activities import PollerActivities
from paid_poller.workflows import GitHubPollWorkflow


def build_worker(
    client: Client, *, task_queue: str, activities: PollerActivities, graceful_shutdown_seconds: float = 30.0
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[GitHubPollWorkflow],
        activities=activities.all(),
        graceful_shutdown_timeout=timedelta(seconds=graceful_shutdown_seconds),
    )
