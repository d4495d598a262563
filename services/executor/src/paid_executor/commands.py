"""The executor's command subjects (request-reply over core NATS): cancel, pause, resume, instruct
and status for a running AgentExecutionWorkflow, answered with a CommandReply."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from faststream.nats import NatsBroker
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from paid_contracts import (
    CancelRun,
    CommandReply,
    GetRunStatus,
    InjectInstruction,
    PauseRun,
    ResumeRun,
    RunCommand,
    RunStatusView,
)
from paid_contracts.workflow_ids import legacy_execution_workflow_id
from paid_executor.params import ExecutionResult
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for

log = logging.getLogger(__name__)
QUEUE = "executor-commands"  # one replica answers each request

Handle = WorkflowHandle[AgentExecutionWorkflow, ExecutionResult]


async def handle_command(
    client: Client, command: RunCommand, act: Callable[[Handle], Awaitable[None]] | None
) -> CommandReply:
    if command.workflow_id is not None:
        candidates = [command.workflow_id]
    elif command.issue is not None:
        candidates = [
            workflow_id_for(command.issue),
            legacy_execution_workflow_id(command.issue.repo.full_name, command.issue.number),
        ]
    else:  # the contract's validator refuses this; kept for the type checker
        return CommandReply(ok=False, error="the command names no run")
    workflow_id = candidates[0]
    try:
        workflow_id, handle, description = await _find(client, candidates)
        running = description.status == WorkflowExecutionStatus.RUNNING
        if act is not None:
            if not running:
                return CommandReply(ok=False, error=f"{workflow_id} is not running")
            await act(handle)
            log.info("%s on %s by %s", type(command).__name__, workflow_id, command.actor)
        status = await handle.query(AgentExecutionWorkflow.status)
    except RPCError as error:
        return CommandReply(ok=False, error=f"{workflow_id}: {error.message}")
    return CommandReply(
        ok=True,
        status=RunStatusView(
            workflow_id=workflow_id, run_id=description.run_id, running=running, **status.model_dump()
        ),
    )


async def _find(client: Client, candidates: list[str]) -> tuple[str, Handle, WorkflowExecutionDescription]:
    """The first of the ids that names a workflow; a run started before ids carried an attempt has
    the old id. Not found: the error about the first."""
    first: RPCError | None = None
    for workflow_id in candidates:
        handle: Handle = client.get_workflow_handle_for(AgentExecutionWorkflow.run, workflow_id)
        try:
            return workflow_id, handle, await handle.describe()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            first = first or error
    assert first is not None
    raise first


def register(broker: NatsBroker, client: Client) -> None:
    @broker.subscriber(CancelRun.SUBJECT, queue=QUEUE)
    async def on_cancel(command: CancelRun) -> CommandReply:
        return await handle_command(client, command, lambda h: h.signal(AgentExecutionWorkflow.cancel))

    @broker.subscriber(PauseRun.SUBJECT, queue=QUEUE)
    async def on_pause(command: PauseRun) -> CommandReply:
        return await handle_command(client, command, lambda h: h.signal(AgentExecutionWorkflow.pause))

    @broker.subscriber(ResumeRun.SUBJECT, queue=QUEUE)
    async def on_resume(command: ResumeRun) -> CommandReply:
        return await handle_command(client, command, lambda h: h.signal(AgentExecutionWorkflow.resume))

    @broker.subscriber(InjectInstruction.SUBJECT, queue=QUEUE)
    async def on_instruct(command: InjectInstruction) -> CommandReply:
        return await handle_command(
            client,
            command,
            lambda h: h.signal(AgentExecutionWorkflow.inject_instruction, command.instruction),
        )

    @broker.subscriber(GetRunStatus.SUBJECT, queue=QUEUE)
    async def on_status(command: GetRunStatus) -> CommandReply:
        return await handle_command(client, command, None)
