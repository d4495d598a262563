"""Starts, pauses, resumes and stops GitHubPollWorkflows: one per project (or configured repository)."""

from __future__ import annotations

import logging

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

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
        workflow_ids.append(
            await start_polling(
                client,
                PollInput(
                    owner=owner, name=name, interval_seconds=interval_seconds, cycles_per_run=cycles_per_run
                ),
                task_queue=task_queue,
            )
        )
    return workflow_ids


async def start_polling(client: Client, poll: PollInput, *, task_queue: str) -> str:
    """Starts the poll, or leaves the running one be; returns its workflow id."""
    workflow_id = poll_workflow_id(poll.owner, poll.name)
    await client.start_workflow(
        GitHubPollWorkflow.run,
        poll,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    log.info(
        "polling %s every %ss", poll.full_name, poll.interval_seconds, extra={"workflow_id": workflow_id}
    )
    return workflow_id


async def apply_polling(
    client: Client, poll: PollInput, *, polling: str, task_queue: str
) -> WorkflowExecutionStatus | None:
    """Brings the project's poll to `polling` (active, paused, stopped); idempotent."""
    workflow_id = poll_workflow_id(poll.owner, poll.name)
    if polling == "stopped":
        handle = client.get_workflow_handle(workflow_id)
        try:
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.cancel()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
        return None
    await start_polling(
        client, poll.model_copy(update={"paused": polling == "paused"}), task_queue=task_queue
    )
    handle = client.get_workflow_handle(workflow_id)
    await handle.signal(GitHubPollWorkflow.pause if polling == "paused" else GitHubPollWorkflow.resume)
    return (await handle.describe()).status
