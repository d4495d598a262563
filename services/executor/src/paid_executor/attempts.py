"""Starting the next attempt at an issue. Each attempt is its own workflow,
`exec:{owner}/{repo}#{n}:{attempt}`; the attempt's memo records the id of the event that started it,
so the same trigger (a redelivery, or the poller seeing the labeling the webhook already brought)
starts at most one attempt, while a new trigger after a finished attempt starts the next one."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from paid_contracts import IssueRef, RunOutcome
from paid_contracts.workflow_ids import FIRST_ATTEMPT
from paid_executor.params import ExecutionInput, ExecutionResult
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for
from paid_runtime.attempts import PullState, refusal_after_success

log = logging.getLogger(__name__)
TRIGGER_MEMO = "trigger"  # trigger_of(the request that started the attempt)
STARTS_TRIED = 3  # another replica may start the same attempt between our look and our start

Handle = WorkflowHandle[AgentExecutionWorkflow, ExecutionResult]
PullStates = Callable[[IssueRef, int], Awaitable[PullState]]
Explain = Callable[[ExecutionInput, str], Awaitable[None]]  # tells the issue why nothing started


@dataclass(frozen=True)
class Attempt:
    number: int
    handle: Handle
    description: WorkflowExecutionDescription

    @property
    def running(self) -> bool:
        return self.description.status == WorkflowExecutionStatus.RUNNING

    async def trigger(self) -> str | None:
        value = await self.description.memo_value(TRIGGER_MEMO, None)
        return value if isinstance(value, str) else None


def trigger_of(request: ExecutionInput) -> str:
    """The identity of what asked for the run: the event's id (the same for the webhook and the
    poller seeing one labeling), else where it came from."""
    return request.request_event_id or f"{request.source}:{request.source_id}"


async def attempts_of(client: Client, issue: IssueRef) -> list[Attempt]:
    """The issue's attempts in order. Read by id (strongly consistent), not from visibility, which
    may lag behind a start that just happened."""
    found: list[Attempt] = []
    number = FIRST_ATTEMPT
    while True:
        handle: Handle = client.get_workflow_handle_for(
            AgentExecutionWorkflow.run, workflow_id_for(issue, number)
        )
        try:
            description = await handle.describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return found
            raise
        found.append(Attempt(number, handle, description))
        number += 1


async def start_attempt(
    client: Client,
    request: ExecutionInput,
    *,
    task_queue: str,
    pull_states: PullStates,
    explain: Explain | None = None,
    eager_start: bool = True,
) -> str | None:
    """Starts the issue's next attempt for this request. Returns the run id of the execution that
    handles it (the new one, or the running one), or None when nothing new started: this trigger
    already started an attempt that has ended, or the last attempt succeeded and its pull request is
    open or merged. With `eager_start`, a worker on `client` for `task_queue` (the executor's own,
    in this process) may take the workflow's first task from the start reply."""
    issue, trigger = request.issue, trigger_of(request)
    for _ in range(STARTS_TRIED):
        attempts = await attempts_of(client, issue)
        for attempt in attempts:
            if await attempt.trigger() == trigger:
                log.info("%s already started %s", trigger, attempt.handle.id)
                return attempt.description.run_id if attempt.running else None
        if attempts and attempts[-1].running:
            log.info("%s is running; it handles the request", attempts[-1].handle.id)
            return attempts[-1].description.run_id
        if attempts and (refusal := await _refusal(issue, attempts[-1], pull_states)) is not None:
            log.info("no new attempt at %s: %s", issue.key, refusal)
            if explain is not None:
                await explain(request, f"attempt {attempts[-1].number} {refusal}")
            return None
        workflow_id = workflow_id_for(issue, len(attempts) + FIRST_ATTEMPT)
        try:
            handle = await client.start_workflow(
                AgentExecutionWorkflow.run,
                request,
                id=workflow_id,
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                memo={TRIGGER_MEMO: trigger},
                request_eager_start=eager_start,
            )
        except WorkflowAlreadyStartedError:
            continue
        log.info("%s runs as %s", workflow_id, handle.result_run_id, extra={"workflow_id": workflow_id})
        return handle.result_run_id
    raise RuntimeError(f"{issue.key}: attempts kept starting concurrently; the request is redelivered")


async def _refusal(issue: IssueRef, last: Attempt, pull_states: PullStates) -> str | None:
    if last.description.status != WorkflowExecutionStatus.COMPLETED:
        return None  # failed, cancelled, terminated or timed out: always worth another attempt
    result = await last.handle.result()
    if result.outcome is not RunOutcome.SUCCEEDED or result.pull_request_number is None:
        return None
    state = await pull_states(issue, result.pull_request_number)
    reason = refusal_after_success(result.pull_request_number, state)
    return None if reason is None else f"succeeded and {reason}"
