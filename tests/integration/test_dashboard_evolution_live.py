"""Acceptance of the dashboard's prompt evolution against the real evolution service (not a stand-in):
the prompts page shows a candidate the evolution workflow wrote and its diff to the parent; the
experiment it started shows its arms; an operator approves the winner in the browser; evolution's
workflow promotes it; the prompts page shows the winner active for the project and the experiment shows
the approval's audit record. axe-core runs on every page, screenshots go to test-artifacts/.

Evolution is assembled in this process (evolution_in_process.py): its API, worker, workflow and
activities are the service's own; Temporal is the time-skipping server, so the daily checks of an
experiment pass in seconds. The gateway is the real app on a real port, forwarding under its roles.

Heavy (a minute and more on a loaded machine); its short form in the default run is
services/gateway/tests/test_dashboard_evolution.py, the same pages against a stand-in of evolution's API."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from faststream.nats import NatsBroker
from playwright.async_api import Page

from paid_contracts import PromptCategory
from paid_devstack import free_port, wait_until_async
from paid_devstack.browser import accessibility_violations, chromium, chromium_path, screenshot_path
from paid_devstack.nats import NatsServer
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.test_servers import scratch_postgres
from paid_evolution import experiments
from paid_evolution.decisions import ExperimentSettings
from paid_evolution.params import EvolutionInput
from paid_evolution.testing import experiment_is_open, feed_experiment, record_outcome
from paid_evolution.workflows import PromptEvolutionWorkflow, evolution_workflow_id
from paid_gateway.app import create_app
from paid_gateway.auth.repo import create_token
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings
from paid_gateway.main import MIGRATIONS as GATEWAY_MIGRATIONS
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.http import make_server
from paid_runtime.messaging import ensure_streams, make_broker, publish_event

from .evolution_in_process import (
    CANDIDATE_LINE,
    INTERNAL_TOKEN,
    RunningEvolution,
    evolution_service,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.heavy,
    pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)"),
]
WINNER = "candidate-1"


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    with scratch_postgres("dashboard-evolution") as server:
        yield server


@pytest.fixture(scope="module")
async def broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[NatsBroker]:
    with NatsServer(tmp_path_factory.mktemp("nats"), sync_always=False) as server:
        broker = make_broker(server.url, "dashboard-evolution-test")
        await broker.connect()
        await ensure_streams(broker)
        yield broker
        await broker.stop()


@asynccontextmanager
async def gateway(
    postgres: EmbeddedPostgres, broker: NatsBroker, evolution_url: str
) -> AsyncIterator[tuple[str, str]]:
    """The gateway's app on a real port, forwarding to evolution; yields its URL and an operator's token."""
    engine = make_engine(postgres.url)
    await migrate(engine, schema="gateway", migrations_dir=GATEWAY_MIGRATIONS)
    sessions = session_factory(engine)
    async with sessions() as session:
        _, operator = await create_token(session, name="dashboard-operator", role=Role.OPERATOR)
    settings = GatewaySettings(
        webhook_secrets=["dashboard-evolution-webhook-secret"],
        evolution_api_url=evolution_url,
        evolution_api_token=INTERNAL_TOKEN,
    )
    app = create_app(settings, publisher=functools.partial(publish_event, broker), sessions=sessions)
    port = free_port()
    server = make_server(app, "127.0.0.1", port)
    serving = asyncio.create_task(server.serve())
    try:
        await wait_until_async(lambda: server.started, timeout=10, what="the gateway's HTTP server")
        yield f"http://127.0.0.1:{port}", operator
    finally:
        server.should_exit = True
        await serving
        await engine.dispose()


async def start_awaiting_approval(evolution: RunningEvolution, project: str) -> tuple[str, dict[str, str]]:
    """Runs the real workflow until its experiment's winner waits for an operator. Returns the
    experiment's id and each arm's version."""
    async with evolution.sessions() as session:
        await experiments.set_policy(session, project=project, require_approval=True)
    for number in range(1, 13):  # the active prompt does badly: evolution writes candidates
        await record_outcome(
            evolution.sessions, project, version="coding@1", merged=number % 4 == 0, number=number
        )
    request = EvolutionInput(
        category=PromptCategory.CODING,
        project=project,
        threshold=0.6,
        min_samples=10,
        mutations=1,
        experiment=ExperimentSettings(min_samples_per_arm=15, check_every_hours=24, max_days=14),
    )
    handle = await evolution.env.client.start_workflow(
        PromptEvolutionWorkflow.run,
        request,
        id=evolution_workflow_id(PromptCategory.CODING, project),
        task_queue=evolution.task_queue,
    )
    await wait_until_async(
        functools.partial(experiment_is_open, evolution.sessions, project),
        timeout=30,
        what="the experiment to start",
    )
    versions = await feed_experiment(evolution.sessions, project, runs=50, winning_arm=WINNER)
    await evolution.env.sleep(timedelta(hours=25))  # the first daily check finds the winner

    async def awaiting() -> bool:
        return await handle.query(PromptEvolutionWorkflow.stage) == "awaiting_approval"

    await wait_until_async(awaiting, timeout=30, what="the winner to wait for approval")
    experiment_id = await handle.query(PromptEvolutionWorkflow.experiment_id)
    assert experiment_id is not None, "an experiment awaits approval"
    return experiment_id, versions


async def check_page(page: Page, name: str) -> None:
    await page.screenshot(path=screenshot_path(name), full_page=True)
    assert await accessibility_violations(page) == "", name


async def test_prompts_diff_experiment_approval_promotion_and_audit_on_the_real_evolution(
    postgres: EmbeddedPostgres, broker: NatsBroker
) -> None:
    project = f"acme/widgets-{uuid.uuid4().hex[:8]}"
    async with evolution_service(postgres.url, broker) as evolution:
        experiment_id, versions = await start_awaiting_approval(evolution, project)
        winner = versions[WINNER]
        async with gateway(postgres, broker, evolution.url) as (url, operator), chromium() as browser:
            page = await browser.new_page()
            await page.goto(url + "/")
            await page.evaluate("token => localStorage.setItem('paid.token', token)", operator)

            await page.goto(url + "/#/prompts")
            await page.wait_for_selector(f"tr[data-version-id='{winner}']")
            assert "candidate" in (await page.text_content(f"tr[data-version-id='{winner}']") or "")
            await check_page(page, "evolution-live-prompts")
            await page.click(f"tr[data-version-id='{winner}'] button")
            await page.wait_for_selector(f"#prompt-diff:has-text('+{CANDIDATE_LINE}')")
            assert await page.text_content("#diff-title") == f"Diff of {winner} to its parent coding@1"
            await check_page(page, "evolution-live-prompt-diff")

            await page.click("nav a[href='#/experiments']")
            await page.click(f"a[href='#/experiments/{experiment_id}']")
            await page.wait_for_selector(f"tr[data-arm='{WINNER}']")
            assert await page.text_content("#experiment-status") == "awaiting_approval"
            arm = await page.text_content(f"tr[data-arm='{WINNER}']") or ""
            assert winner in arm, arm
            assert "[" in arm, arm  # its always-valid interval is shown
            await check_page(page, "evolution-live-experiment")

            await page.click("#approve")
            await page.wait_for_selector("#experiment-result:has-text('approved')")
            result = await evolution.env.client.get_workflow_handle_for(
                PromptEvolutionWorkflow.run, evolution_workflow_id(PromptCategory.CODING, project)
            ).result()
            assert (result.outcome, result.winner_version) == ("promoted", winner)

            await page.reload()
            await page.wait_for_selector("#experiment-status:has-text('concluded')")
            assert winner in (await page.text_content("#experiment-decision") or "")
            audit = page.locator("#audit tr[data-action='experiment.approve']")
            await audit.wait_for()
            assert "dashboard-operator (operator)" in (await audit.text_content() or "")
            assert "200" in (await audit.text_content() or "")
            await check_page(page, "evolution-live-experiment-approved")

            await page.click("nav a[href='#/prompts']")
            promoted = page.locator("#active-prompts tr", has_text=project)
            await promoted.wait_for()
            assert winner in (await promoted.text_content() or "")
            await check_page(page, "evolution-live-prompts-promoted")
