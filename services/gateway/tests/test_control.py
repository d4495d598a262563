"""Control sends Temporal signals to the run's workflow execution (a stand-in for the executor's
AgentExecutionWorkflow that records what it receives), and refuses clearly what cannot be done."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from faststream.nats import NatsBroker
from gateway_run_events import RunScript
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from paid_contracts import RunOutcome
from paid_devstack.test_servers import time_skipping_environment
from paid_gateway.app import create_app
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings
from paid_gateway.projections import projector
from paid_runtime.messaging import publish_event


@workflow.defn(name="AgentExecutionWorkflow", sandboxed=False)
class StandInExecution:
    """Records the control signals with the arguments of the executor's contract."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.stopped = False

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.stopped)
        return self.received

    @workflow.signal(name="cancel")
    def cancel(self, reason: str) -> None:
        self.received.append(f"cancel:{reason}")
        self.stopped = True

    @workflow.signal(name="pause")
    def pause(self) -> None:
        self.received.append("pause")

    @workflow.signal(name="resume")
    def resume(self) -> None:
        self.received.append("resume")

    @workflow.signal(name="inject_instruction")
    def inject_instruction(self, text: str) -> None:
        self.received.append(f"instruct:{text}")

    @workflow.query(name="received")
    def query_received(self) -> list[str]:
        return self.received


@pytest.fixture(scope="module")
async def temporal() -> AsyncIterator[Client]:
    async with await time_skipping_environment() as env:
        yield env.client


@pytest.fixture
async def control_api(
    api_settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    temporal: Client,
) -> AsyncIterator[httpx.AsyncClient]:
    async def provider() -> Client:
        return temporal

    app: FastAPI = create_app(
        api_settings, publisher=functools.partial(publish_event, broker), sessions=sessions, temporal=provider
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        yield client


async def _running(
    temporal: Client, sessions: async_sessionmaker[AsyncSession]
) -> tuple[RunScript, WorkflowHandle[StandInExecution, list[str]], Worker]:
    queue = f"control-{uuid.uuid4().hex[:8]}"
    worker = Worker(temporal, task_queue=queue, workflows=[StandInExecution])
    draft = RunScript()
    handle = await temporal.start_workflow(StandInExecution.run, id=draft.workflow_id, task_queue=queue)
    assert handle.result_run_id is not None
    run = RunScript(draft.issue.repo.full_name, draft.issue.number, run_id=handle.result_run_id)
    async with sessions() as session:
        await projector.apply(session, run.started())
    return run, handle, worker


async def test_control_actions_arrive_as_signals(
    control_api: httpx.AsyncClient,
    temporal: Client,
    sessions: async_sessionmaker[AsyncSession],
    role_tokens: dict[Role, str],
) -> None:
    run, handle, worker = await _running(temporal, sessions)
    headers = {"Authorization": f"Bearer {role_tokens[Role.OPERATOR]}"}
    async with worker:
        for action, body in (("pause", None), ("resume", None), ("instruct", {"text": "add a test"})):
            response = await control_api.post(f"/api/runs/{run.run_id}/{action}", json=body, headers=headers)
            assert response.status_code == 202, response.text
            assert response.json()["workflow_id"] == run.workflow_id
        cancelled = await control_api.post(
            f"/api/runs/{run.run_id}/cancel", json={"reason": "wrong issue"}, headers=headers
        )
        assert cancelled.status_code == 202
        received = await asyncio.wait_for(handle.result(), timeout=30)
    assert received == ["pause", "resume", "instruct:add a test", "cancel:wrong issue"]


async def test_control_of_an_ended_execution_is_a_conflict(
    control_api: httpx.AsyncClient,
    temporal: Client,
    sessions: async_sessionmaker[AsyncSession],
    role_tokens: dict[Role, str],
) -> None:
    run, handle, worker = await _running(temporal, sessions)
    async with worker:
        await handle.signal("cancel", "ended elsewhere")
        await asyncio.wait_for(handle.result(), timeout=30)
    # The projection has not heard of the end yet: Temporal's answer decides.
    response = await control_api.post(
        f"/api/runs/{run.run_id}/pause", headers={"Authorization": f"Bearer {role_tokens[Role.OPERATOR]}"}
    )
    assert response.status_code == 409
    assert response.json() == {"detail": f"run {run.run_id} has already ended; nothing to pause"}


async def test_a_finished_run_is_refused_and_an_unsuccessful_one_retried(
    control_api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    run = RunScript()
    async with sessions() as session:
        await projector.apply(session, run.finished(RunOutcome.ERROR))
    headers = {"Authorization": f"Bearer {role_tokens[Role.OPERATOR]}"}
    cancel = await control_api.post(f"/api/runs/{run.run_id}/cancel", headers=headers)
    assert cancel.status_code == 409
    assert cancel.json()["detail"] == f"run {run.run_id} is not running (it is error)"
    retry = await control_api.post(f"/api/runs/{run.run_id}/retry", headers=headers)
    assert retry.status_code == 202
    assert retry.json()["detail"] == f"a new run was requested for {run.issue.key}"


async def test_blank_instruction_is_refused(
    control_api: httpx.AsyncClient, role_tokens: dict[Role, str]
) -> None:
    response = await control_api.post(
        "/api/runs/any/instruct",
        json={"text": "   "},
        headers={"Authorization": f"Bearer {role_tokens[Role.OPERATOR]}"},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "invalid request: body.text: Value error, the instruction is blank"
