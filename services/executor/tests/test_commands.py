"""The command subjects over a real NATS server, against a running workflow: status, pause,
instruct, resume and cancel, as the gateway and CLI will send them."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from faststream.nats import NatsBroker
from nats.errors import NoRespondersError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from paid_contracts import (
    CancelRun,
    CommandReply,
    GetRunStatus,
    InjectInstruction,
    PauseRun,
    RunCommand,
    RunOutcome,
)
from paid_devstack.nats import NatsServer
from paid_executor import commands
from paid_executor.subscribers import start_execution
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.messaging import make_broker

from .loop_support import loop_request, loop_worker, script_agent
from .test_fix_forward import make_repo, only_comment


async def ask(broker: NatsBroker, command: RunCommand) -> CommandReply:
    # On a loaded CI machine the server has answered "no responders" once even after the
    # executor's subscriptions were flushed; ask again until a deadline, as a client would.
    deadline = time.monotonic() + 30
    while True:
        try:
            message = await broker.request(command, subject=command.SUBJECT, timeout=10)
        except NoRespondersError:
            assert time.monotonic() < deadline, f"nobody answers {command.SUBJECT}"
            await asyncio.sleep(0.1)
            continue
        return CommandReply.model_validate_json(message.body)


async def test_commands_reach_the_running_workflow(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    nats_server: NatsServer,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\n")
    started = tmp_path / "started"
    agent = script_agent(
        tmp_path / "agent.py", f"pathlib.Path({str(started)!r}).write_text('x')\nimport time\ntime.sleep(600)"
    )
    executor = make_broker(nats_server.url, "executor-commands-test")
    commands.register(executor, env.client)
    await executor.start()
    await executor.connection.flush()  # the server has the subscriptions before anyone asks
    try:
        async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", agent_command=agent) as worker:
            request = loop_request(repo_ref)
            await start_execution(env.client, request, task_queue=worker.task_queue)
            workflow_id = workflow_id_for(request.issue)
            deadline = time.monotonic() + 60
            while not started.exists():
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)

            status = await ask(broker, GetRunStatus(issue=request.issue))
            assert status.ok
            assert status.status is not None
            assert status.status.workflow_id == workflow_id
            assert status.status.step == "agent"
            assert status.status.running

            paused = await ask(broker, PauseRun(workflow_id=workflow_id, actor="alice"))
            assert paused.status is not None
            assert paused.status.paused
            instructed = await ask(broker, InjectInstruction(workflow_id=workflow_id, instruction="be brief"))
            assert instructed.status is not None
            assert instructed.status.pending_instructions == 1

            cancelled = await ask(broker, CancelRun(workflow_id=workflow_id, actor="alice"))
            assert cancelled.ok
            result = await env.client.get_workflow_handle_for(
                AgentExecutionWorkflow.run, workflow_id
            ).result()
            assert result.outcome is RunOutcome.CANCELLED
            again = await ask(broker, CancelRun(workflow_id=workflow_id))
            assert not again.ok
            assert "not running" in (again.error or "")
    finally:
        await executor.stop()
    assert "cancelled" in only_comment(emulator, repo_ref)


async def test_an_unknown_run_gets_a_clear_error(
    broker: NatsBroker, env: WorkflowEnvironment, nats_server: NatsServer
) -> None:
    executor = make_broker(nats_server.url, "executor-commands-test")
    commands.register(executor, env.client)
    await executor.start()
    await executor.connection.flush()  # the server has the subscriptions before anyone asks
    try:
        reply = await ask(broker, GetRunStatus(workflow_id="exec:nobody/nothing#1"))
    finally:
        await executor.stop()
    assert not reply.ok
    assert "exec:nobody/nothing#1" in (reply.error or "")
