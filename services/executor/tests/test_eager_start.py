"""Eager workflow start: the executor starts a run from its NATS subscriber in the process that runs
its worker, so Temporal's development server hands the run's first workflow task back in the start
reply instead of queueing it for a poll. Against the real development server (the time-skipping test
server never starts eagerly), with a stand-in workflow under the executor's workflow name so that
only the start path is under test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowHandle,
)
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from paid_contracts import BuildRequested, IssueRef, RepoRef, TriggerSource
from paid_devstack.temporal import TemporalDevServer
from paid_executor.attempts import start_attempt
from paid_executor.config import ExecutorSettings
from paid_executor.params import ExecutionInput
from paid_executor.subscribers import _assume_open, from_build_requested
from paid_executor.workflows import EXECUTION_WORKFLOW
from paid_runtime.temporal import connect_temporal

pytestmark = pytest.mark.integration


@workflow.defn(name=EXECUTION_WORKFLOW)
class StandInExecution:
    @workflow.run
    async def run(self, request: ExecutionInput) -> None:
        return None


class EagerStarts(Interceptor):
    """Records, for each workflow start, whether it asked for eager start and got it. The SDK marks
    a handle whose start reply carried the first workflow task; it has no public accessor."""

    def __init__(self) -> None:
        self.starts: list[tuple[bool, bool]] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Recording(next, self.starts)


class _Recording(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, starts: list[tuple[bool, bool]]) -> None:
        super().__init__(next)
        self._starts = starts

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        handle = await super().start_workflow(input)
        self._starts.append((input.request_eager_start, bool(getattr(handle, "__temporal_eagerly_started"))))
        return handle


@pytest.fixture(scope="module")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(tmp_path_factory.mktemp("temporal"), headless=True) as server:
        yield server


@pytest.fixture
async def recorded(temporal: TemporalDevServer) -> tuple[Client, EagerStarts]:
    starts = EagerStarts()
    plain = await connect_temporal(temporal.target)
    config = plain.config()
    config["interceptors"] = [*config["interceptors"], starts]
    return Client(**config), starts


@pytest.fixture
async def worker(recorded: tuple[Client, EagerStarts]) -> AsyncIterator[Worker]:
    client, _ = recorded
    # Unsandboxed: the stand-in does nothing that could be non-deterministic, and this module's
    # imports (the executor's settings, the dev server) are not sandbox-safe.
    async with Worker(
        client,
        task_queue=f"eager-{uuid.uuid4()}",
        workflows=[StandInExecution],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ) as running:
        yield running


def request_for(settings: ExecutorSettings) -> ExecutionInput:
    issue = IssueRef(repo=RepoRef(owner="alice", name=f"calc-{uuid.uuid4().hex[:8]}"), number=1)
    labeled = BuildRequested(
        producer="test",
        issue=issue,
        label="paid-build",
        actor="alice",
        source=TriggerSource.WEBHOOK,
        source_id=str(uuid.uuid4()),
    )
    return from_build_requested(labeled, settings)


@pytest.mark.parametrize("eager", [True, False])
async def test_a_run_started_beside_its_worker_takes_its_first_task_from_the_start_reply(
    recorded: tuple[Client, EagerStarts], worker: Worker, tmp_path: Path, eager: bool
) -> None:
    client, starts = recorded
    settings = ExecutorSettings(
        task_queue=worker.task_queue, workspace_root=tmp_path, eager_workflow_start=eager
    )
    run_id = await start_attempt(
        client,
        request_for(settings),
        task_queue=worker.task_queue,
        pull_states=_assume_open,
        eager_start=settings.eager_workflow_start,
    )
    assert run_id is not None
    assert starts.starts == [(eager, eager)]


def test_eager_start_is_the_default() -> None:
    assert ExecutorSettings().eager_workflow_start
