"""Starts one GitHubPollWorkflow per configured repository; an existing poll is left running."""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from paid_poller.params import PollInput
from paid_poller.workflows import GitHubPollWorkflow, poll_workflow_id

log = logging.getLogger(__name__)


async def ensure_polling(
    client: Client, *, repositories: list[str], interval_seconds: float, cycles_per_run: int, task_queue: str
) -> list[str]:
    """Returns the poll workflow ids. Safe to call from every replica at every start."""
    workflow_ids = []
    for full_name in repositories:
        owner, name = full_name.split("/", 1)
        workflow_id = poll_workflow_id(owner, name)
        await client.start_workflow(
            GitHubPollWorkflow.run,
            PollInput(
                owner=owner, name=name, interval_seconds=interval_seconds, cycles_per_run=cycles_per_run
            ),
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        log.info("polling %s every %ss", full_name, interval_seconds, extra={"workflow_id": workflow_id})
        workflow_ids.append(workflow_id)
    return workflow_ids
