"""Projects' own budget caps from the CLI (`paid budgets`) and the dashboard's budgets page, against a
gateway on a real HTTP server that asks a stand-in executor (executor_stand_in.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from executor_stand_in import StandInExecutor, budget_gateway, register_project, stand_in_executor
from faststream.nats import NatsBroker
from serving import served
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from typer.testing import CliRunner

from paid_cli.main import app as cli
from paid_contracts.budget_caps import BudgetCaps
from paid_devstack.browser import accessibility_violations, chromium, chromium_path, screenshot_path
from paid_devstack.nats import NatsServer
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings


@pytest.fixture
async def executor(nats_server: NatsServer, broker: NatsBroker) -> AsyncIterator[StandInExecutor]:
    async with stand_in_executor(nats_server.url, broker) as stand_in:
        yield stand_in


@pytest.fixture
async def live_gateway(
    api_settings: GatewaySettings, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[str]:
    async with served(budget_gateway(api_settings, broker, sessions), "the gateway") as url:
        yield url


@pytest.fixture
async def project(live_gateway: str, role_tokens: dict[Role, str]) -> str:
    async with httpx.AsyncClient(base_url=live_gateway) as http:
        return await register_project(http, role_tokens[Role.ADMIN])


async def test_the_cli_sets_shows_lists_and_resets_a_projects_caps(
    live_gateway: str,
    executor: StandInExecutor,
    project: str,
    role_tokens: dict[Role, str],
) -> None:
    url = live_gateway

    async def paid(*args: str) -> tuple[int, str, str]:
        command = [*args, "--url", url, "--token", role_tokens[Role.ADMIN]]
        result = await asyncio.to_thread(CliRunner().invoke, cli, command, env={"COLUMNS": "250"})
        return result.exit_code, result.stdout, result.stderr

    first = await paid("budgets", "set", project, "--daily-usd", "3", "--time-zone", "Europe/Paris")
    second = await paid("budgets", "set", project, "--monthly-tokens", "9000000")
    shown = await paid("budgets", "show", project, "--json")
    listed = await paid("budgets", "list")
    negative = await paid("budgets", "set", project, "--daily-usd", "-1")
    unknown_zone = await paid("budgets", "set", project, "--time-zone", "Mars/Olympus_Mons")
    reset = await paid("budgets", "reset", project)

    assert (first[0], second[0]) == (0, 0), first[2] + second[2]
    assert json.loads(shown[1])["caps"] == {  # the second set kept what the first set
        "daily_max_tokens": None,
        "daily_max_cost_usd": 3.0,
        "monthly_max_tokens": 9_000_000,
        "monthly_max_cost_usd": None,
        "time_zone": "Europe/Paris",
    }
    assert project in listed[1]
    assert "own" in listed[1]
    assert "Europe/Paris" in listed[1]
    assert negative[0] != 0
    assert "daily_max_cost_usd" in negative[2]  # the gateway's refusal names the field
    assert unknown_zone[0] != 0
    assert "time_zone" in unknown_zone[2]
    assert reset[0] == 0
    assert f"{project}: the default caps" in reset[1]
    assert [request.caps for request in executor.requests][-1] is None
    assert len(executor.requests) == 3  # the refused ones never reached the executor


# Heavy: a browser session; the API and CLI tests above are its short form.
@pytest.mark.heavy
@pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)")
async def test_an_admin_sets_caps_on_the_budgets_page_and_a_bad_value_is_named(
    live_gateway: str,
    executor: StandInExecutor,
    project: str,
    role_tokens: dict[Role, str],
) -> None:
    url = live_gateway
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(url + "/")
        await page.evaluate("token => localStorage.setItem('paid.token', token)", role_tokens[Role.ADMIN])
        await page.goto(url + "/#/budgets")
        await page.locator("#caps-form").wait_for()
        await page.select_option("#caps-project", project)
        await page.locator(f"#caps-form[data-loaded-for='{project}']").wait_for(state="attached")
        await page.fill("#caps-daily-usd", "2.5")
        await page.fill("#caps-time-zone", "Europe/Paris")
        await page.click("#caps-form button[type=submit]")
        await page.locator("#caps-result", has_text="saved").wait_for()
        row = page.locator(f"#budget-list tr[data-project='{project}'][data-period='day']")
        text = await row.text_content() or ""
        assert "$2.50" in text
        assert "the project's own (Europe/Paris)" in text
        await page.screenshot(path=screenshot_path("dashboard-budget-caps"), full_page=True)
        assert await accessibility_violations(page) == ""

        await page.fill("#caps-daily-usd", "-1")
        await page.click("#caps-form button[type=submit]")
        await page.locator("#caps-result", has_text="daily_max_cost_usd").wait_for()
        await page.click("#caps-reset")
        await page.locator("#caps-result", has_text="uses the defaults").wait_for()
        assert await page.input_value("#caps-daily-usd") == ""

        viewer = await browser.new_page()
        await viewer.goto(url + "/")
        await viewer.evaluate("token => localStorage.setItem('paid.token', token)", role_tokens[Role.VIEWER])
        await viewer.goto(url + "/#/budgets")
        await viewer.locator(f"#budget-list tr[data-project='{project}']").first.wait_for()
        assert await viewer.locator("#caps-form").is_hidden()  # the form is for admins

    assert [request.caps for request in executor.requests] == [
        BudgetCaps(daily_max_cost_usd=2.5, time_zone="Europe/Paris"),
        None,
    ]
