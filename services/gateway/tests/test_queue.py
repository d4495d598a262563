"""Runs waiting to start (`GET /api/queue` and the dashboard's queue page), from Temporal's visibility on
a real Temporal dev server: executions of the agent workflow that no worker has taken (their task queue
has none here) are listed in the order they were requested; a run that has started is not."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from paid_contracts.workflow_ids import (
    EXECUTION_STATUS_QUERY,
    EXECUTION_WORKFLOW,
    execution_workflow_id,
    parse_execution_workflow_id,
)
from paid_devstack import free_port, wait_until_async
from paid_devstack.browser import accessibility_violations, chromium, chromium_path, screenshot_path
from paid_devstack.temporal import TemporalDevServer
from paid_gateway.app import create_app
from paid_gateway.auth.repo import create_token
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings
from paid_gateway.projections.models import RunRow
from paid_runtime.http import make_server
from paid_runtime.messaging import publish_event

pytestmark = pytest.mark.slow


def test_execution_ids_are_read_back_and_anything_else_is_not_a_run() -> None:
    assert parse_execution_workflow_id(execution_workflow_id("acme/calc", 12, 3)) == ("acme/calc", 12, 3)
    assert parse_execution_workflow_id("exec:acme/calc#12") == ("acme/calc", 12, 1)  # a legacy id
    for other in (
        "pr:acme/calc#3",
        "exec:calc#1:1",
        "exec:acme/calc#x:1",
        "exec:acme/calc#1:two",
        "evolve:x",
    ):
        assert parse_execution_workflow_id(other) is None, other


@pytest.fixture(scope="module")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(tmp_path_factory.mktemp("temporal"), headless=True) as server:
        yield server


@pytest.fixture
async def temporal(temporal_server: TemporalDevServer) -> Client:
    return await Client.connect(temporal_server.target, data_converter=pydantic_data_converter)


@pytest.fixture
async def queue_api(
    api_settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    temporal: Client,
) -> AsyncIterator[str]:
    async def provider() -> Client:
        return temporal

    app = create_app(
        api_settings, publisher=functools.partial(publish_event, broker), sessions=sessions, temporal=provider
    )
    port = free_port()
    server = make_server(app, "127.0.0.1", port)
    serving = asyncio.create_task(server.serve())
    try:
        await wait_until_async(lambda: server.started, timeout=10, what="the gateway's HTTP server")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def request_runs(temporal: Client, repo: str, *issues: tuple[int, int]) -> list[str]:
    """Executions of the agent workflow on a task queue no worker serves: they wait, as in a full queue."""
    ids = []
    for number, attempt in issues:
        handle = await temporal.start_workflow(
            EXECUTION_WORKFLOW,
            {},
            id=execution_workflow_id(repo, number, attempt),
            task_queue=f"no-worker-{uuid.uuid4()}",
        )
        ids.append(handle.id)
    return ids


async def queued_of(live: str, viewer: str, repo: str) -> list[dict[str, object]]:
    # A deadline, not a figure: the page asks each waiting run for its place, 2 s at most for one no
    # worker serves, and the session's server holds the earlier tests' waiting runs too.
    async with httpx.AsyncClient(base_url=live, timeout=120) as http:
        answer = await http.get("/api/queue", headers={"Authorization": f"Bearer {viewer}"})
    answer.raise_for_status()
    return [run for run in answer.json()["runs"] if run["repo"] == repo]


async def test_runs_waiting_to_start_are_listed_in_order_on_the_queue_page(
    queue_api: str, temporal: Client, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    repo = f"acme/queue-{uuid.uuid4().hex[:8]}"
    first, second, started = await request_runs(temporal, repo, (4, 1), (5, 2), (6, 1))
    async with sessions() as session:  # the third one's run has begun: the projection knows it
        now = datetime.now(UTC)
        session.add(
            RunRow(run_id=str(uuid.uuid4()), workflow_id=started, repo=repo, issue_number=6, status="running",
                   started_at=now, updated_at=now)
        )  # fmt: skip
        await session.commit()
    viewer = role_tokens[Role.VIEWER]
    try:

        async def both_listed() -> bool:  # Temporal's visibility follows its writes closely, not at once
            return len(await queued_of(queue_api, viewer, repo)) == 2

        await wait_until_async(both_listed, timeout=30, what="the waiting runs in Temporal's visibility")
        queued = await queued_of(queue_api, viewer, repo)
        assert [(r["workflow_id"], r["issue_number"], r["attempt"]) for r in queued] == [
            (first, 4, 1),
            (second, 5, 2),
        ]
        positions = [r["position"] for r in queued]
        assert positions == sorted(positions)
        async with sessions() as session:  # a token scoped to another project sees none of them
            _, elsewhere = await create_token(
                session, name="queue-elsewhere", role=Role.VIEWER, projects=["acme/x"]
            )
            _, here = await create_token(session, name="queue-here", role=Role.VIEWER, projects=[repo])
        assert await queued_of(queue_api, elsewhere, repo) == []
        assert len(await queued_of(queue_api, here, repo)) == 2

        if chromium_path() is None:
            pytest.skip("needs Debian's chromium (apt-get install chromium) for the page")
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(queue_api + "/")
            await page.evaluate("token => localStorage.setItem('paid.token', token)", viewer)
            await page.goto(queue_api + "/#/queue")
            row = page.locator(f"#queue-list tr[data-workflow-id='{second}']")
            await row.wait_for()
            assert f"{repo} #5" in (await row.text_content() or "")
            assert "attempt 2" in (await row.text_content() or "")
            assert await page.locator(f"#queue-list tr[data-workflow-id='{started}']").count() == 0
            assert "executor worker" in (await page.text_content("#queue-note") or "")
            await page.screenshot(path=screenshot_path("dashboard-queue"), full_page=True)
            assert await accessibility_violations(page) == ""
    finally:
        for workflow_id in (first, second, started):
            await temporal.get_workflow_handle(workflow_id).terminate("test over")


async def test_the_queue_answers_503_while_temporal_cannot_be_reached(
    api_settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    role_tokens: dict[Role, str],
) -> None:
    async def unreachable() -> Client:
        raise TimeoutError("no Temporal here")

    app = create_app(
        api_settings,
        publisher=functools.partial(publish_event, broker),
        sessions=sessions,
        temporal=unreachable,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        answer = await http.get("/api/queue", headers={"Authorization": f"Bearer {role_tokens[Role.VIEWER]}"})
    assert answer.status_code == 503
    assert answer.json()["detail"] == "Temporal is unavailable; try again"


async def paid_runs_queue(url: str, token: str) -> str:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "paid"),
        "runs",
        "queue",
        "--url",
        url,
        "--token",
        token,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "250"},
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


@workflow.defn(name=EXECUTION_WORKFLOW)
class StandInExecution:
    """Answers the status query as the executor's workflow does: `queued`, with a place and a reason,
    while held by the admission limits; another step once it has a slot."""

    def __init__(self) -> None:
        self._status: dict[str, object] = {}

    @workflow.run
    async def run(self, status: dict[str, object]) -> None:
        self._status = status
        await workflow.wait_condition(lambda: False)

    @workflow.query(name=EXECUTION_STATUS_QUERY)
    def status(self) -> dict[str, object]:
        return self._status


async def test_queued_runs_show_their_place_in_the_fair_order_and_why(
    queue_api: str, temporal: Client, role_tokens: dict[Role, str]
) -> None:
    """Runs the executor holds back are listed as `queued` in the order they will start (their place,
    not their request time), before the runs that wait for a worker."""
    repo = f"acme/fair-{uuid.uuid4().hex[:8]}"
    task_queue = f"stand-in-{uuid.uuid4()}"
    why = "the project's 1 run slot(s) are taken"
    statuses = [
        {"step": "queued", "queue_position": 2, "queue_reason": why},
        {"step": "queued", "queue_position": 1, "queue_reason": why},
        {"step": "clone"},
    ]
    ids = []
    async with Worker(
        temporal,
        task_queue=task_queue,
        workflows=[StandInExecution],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        for number, status in enumerate(statuses, 1):
            handle = await temporal.start_workflow(
                EXECUTION_WORKFLOW, status, id=execution_workflow_id(repo, number), task_queue=task_queue
            )
            ids.append(handle.id)
        try:

            async def listed() -> bool:
                return len(await queued_of(queue_api, role_tokens[Role.VIEWER], repo)) == 3

            await wait_until_async(listed, timeout=30, what="the runs in Temporal's visibility")
            queued = await queued_of(queue_api, role_tokens[Role.VIEWER], repo)
            assert [(r["issue_number"], r["position"], r["status"], r["reason"]) for r in queued] == [
                (2, 1, "queued", why),
                (1, 2, "queued", why),
                (3, 3, "waiting", None),
            ]
            table = await paid_runs_queue(queue_api, role_tokens[Role.VIEWER])  # the CLI shows the same
            rows = [[cell.strip() for cell in line.split("│")] for line in table.splitlines() if repo in line]
            assert [(row[1], row[3], row[5]) for row in rows] == [
                ("1", "#2", "queued"),
                ("2", "#1", "queued"),
                ("3", "#3", "waiting"),
            ]
        finally:
            for workflow_id in ids:
                await temporal.get_workflow_handle(workflow_id).terminate("test over")
