"""Projects' own budget caps through the gateway: admins set, read and reset them; the gateway checks the
input (a 422 naming the field) and asks the executor, which keeps them, over NATS request-reply.

The executor is stood in for by a responder on the real NATS server that answers as the real one does
(services never import each other; the executor's side, its table and the proxy using the caps, is
tested in services/executor/tests/test_project_budgets.py)."""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from faststream.nats import NatsBroker, NatsMessage
from serving import served
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from typer.testing import CliRunner

from paid_cli.main import app as cli
from paid_contracts.budget_caps import (
    BudgetCaps,
    BudgetsReply,
    ListProjectBudgets,
    SetProjectBudget,
    project_key,
)
from paid_devstack.browser import accessibility_violations, chromium, chromium_path, screenshot_path
from paid_devstack.nats import NatsServer
from paid_gateway.app import create_app
from paid_gateway.auth.tokens import Role
from paid_gateway.budget_caps import nats_requester
from paid_gateway.config import GatewaySettings
from paid_runtime.messaging import make_broker, publish_event

DEFAULTS = BudgetCaps(daily_max_cost_usd=20.0, monthly_max_cost_usd=200.0, time_zone="UTC")


class StandInExecutor:
    def __init__(self) -> None:
        self.caps: dict[str, BudgetCaps] = {}
        self.requests: list[SetProjectBudget] = []

    def reply(self) -> BudgetsReply:
        return BudgetsReply(ok=True, defaults=DEFAULTS, projects=dict(self.caps))


@pytest.fixture
async def executor(nats_server: NatsServer) -> AsyncIterator[StandInExecutor]:
    stand_in = StandInExecutor()
    responder = make_broker(nats_server.url, "stand-in-executor")

    @responder.subscriber(ListProjectBudgets.SUBJECT)
    async def on_list(message: NatsMessage) -> BudgetsReply:
        return stand_in.reply()

    @responder.subscriber(SetProjectBudget.SUBJECT)
    async def on_set(message: NatsMessage) -> BudgetsReply:
        request = SetProjectBudget.model_validate_json(message.body)
        stand_in.requests.append(request)
        if request.caps is None:
            stand_in.caps.pop(project_key(request.project), None)
        else:
            stand_in.caps[project_key(request.project)] = request.caps
        return stand_in.reply()

    await responder.start()
    await responder.connection.flush()
    try:
        yield stand_in
    finally:
        await responder.stop()


@pytest.fixture
async def gateway(
    api_settings: GatewaySettings, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        api_settings,
        publisher=functools.partial(publish_event, broker),
        sessions=sessions,
        requester=nats_requester(broker),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        yield http


@pytest.fixture
async def project(gateway: httpx.AsyncClient, role_tokens: dict[Role, str]) -> str:
    name = f"acme/Budget-{uuid.uuid4().hex[:8]}"
    admin = {"Authorization": f"Bearer {role_tokens[Role.ADMIN]}"}
    registered = await gateway.post("/api/projects", json={"repository": name}, headers=admin)
    assert registered.status_code == 201, registered.text
    return name


def as_role(tokens: dict[Role, str], role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


async def test_an_admin_sets_reads_and_resets_a_projects_caps(
    gateway: httpx.AsyncClient, executor: StandInExecutor, project: str, role_tokens: dict[Role, str]
) -> None:
    admin = as_role(role_tokens, Role.ADMIN)
    caps = {"daily_max_cost_usd": 1.0, "monthly_max_tokens": 5_000_000, "time_zone": "Europe/Paris"}

    refused = [
        (await gateway.put(f"/api/budgets/{project}", json=caps, headers=as_role(role_tokens, r))).status_code
        for r in (Role.VIEWER, Role.OPERATOR)
    ]
    put = await gateway.put(f"/api/budgets/{project.upper()}", json=caps, headers=admin)
    read = await gateway.get(f"/api/budgets/{project}", headers=admin)
    listed = await gateway.get("/api/budgets", headers=as_role(role_tokens, Role.VIEWER))

    assert refused == [403, 403]
    assert put.status_code == 200, put.text
    (sent,) = executor.requests
    assert (sent.project, sent.actor) == (project, "test-admin")  # the registry's spelling, who set it
    assert sent.caps == BudgetCaps(
        daily_max_cost_usd=1.0, monthly_max_tokens=5_000_000, time_zone="Europe/Paris"
    )
    assert read.json() == put.json()
    assert read.json()["own"] is True
    assert read.json()["caps"]["daily_max_cost_usd"] == 1.0
    assert read.json()["caps"]["daily_max_tokens"] is None  # the default in that unit
    assert read.json()["defaults"]["daily_max_cost_usd"] == 20.0
    (mine,) = [p for p in listed.json()["projects"] if p["project"] == project]
    day, month = mine["lines"]
    assert (day["cap_usd"], day["cap_tokens"], day["cap_source"]) == (1.0, None, "project")
    assert (month["cap_usd"], month["cap_tokens"]) == (200.0, 5_000_000)  # the default dollars, own tokens
    assert mine["time_zone"] == "Europe/Paris"

    reset = await gateway.delete(f"/api/budgets/{project}", headers=admin)
    assert reset.status_code == 200
    assert (reset.json()["own"], executor.requests[-1].caps) == (False, None)
    listed = await gateway.get("/api/budgets", headers=admin)
    (mine,) = [p for p in listed.json()["projects"] if p["project"] == project]
    assert mine["lines"][0]["cap_source"] == "default"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"daily_max_cost_usd": -1}, "body.daily_max_cost_usd"),
        ({"monthly_max_tokens": -5}, "body.monthly_max_tokens"),
        ({"daily_max_tokens": "lots"}, "body.daily_max_tokens"),
        ({"monthly_max_cost_usd": "5"}, "body.monthly_max_cost_usd"),  # a number, not a string
        ({"daily_max_tokens": 1.5}, "body.daily_max_tokens"),
        ({"daily_max_tokens": True}, "body.daily_max_tokens"),
        ({"daily_max_cost_usd": 1e300}, "body.daily_max_cost_usd"),
        ({"time_zone": "Mars/Olympus_Mons"}, "body.time_zone"),
        ({"time_zone": "../../etc/passwd"}, "body.time_zone"),
        ({"daily_cap": 5}, "body.daily_cap"),  # a misspelt field is not silently ignored
    ],
)
async def test_bad_caps_get_a_422_naming_the_field_and_reach_no_executor(
    gateway: httpx.AsyncClient,
    executor: StandInExecutor,
    project: str,
    role_tokens: dict[Role, str],
    body: dict[str, object],
    field: str,
) -> None:
    answer = await gateway.put(f"/api/budgets/{project}", json=body, headers=as_role(role_tokens, Role.ADMIN))

    assert answer.status_code == 422, answer.text
    assert field in [problem["where"] for problem in answer.json()["errors"]]
    assert executor.requests == []


async def test_a_malformed_body_and_an_unknown_project_are_refused(
    gateway: httpx.AsyncClient, executor: StandInExecutor, project: str, role_tokens: dict[Role, str]
) -> None:
    admin = as_role(role_tokens, Role.ADMIN) | {"Content-Type": "application/json"}

    malformed = await gateway.put(f"/api/budgets/{project}", content=b"{daily", headers=admin)
    unknown = await gateway.put("/api/budgets/acme/never-registered", json={}, headers=admin)

    assert malformed.status_code == 422
    assert unknown.status_code == 404
    assert "acme/never-registered" in unknown.json()["detail"]
    assert executor.requests == []


async def test_without_an_executor_setting_is_refused_and_the_list_says_caps_are_defaults(
    gateway: httpx.AsyncClient, project: str, role_tokens: dict[Role, str]
) -> None:
    admin = as_role(role_tokens, Role.ADMIN)

    put = await gateway.put(f"/api/budgets/{project}", json={"daily_max_cost_usd": 1.0}, headers=admin)
    listed = await gateway.get("/api/budgets", headers=admin)

    assert put.status_code == 503
    assert "executor did not answer" in put.json()["detail"]
    assert listed.status_code == 200
    assert "every project's caps are shown as the defaults" in listed.json()["note"]


async def test_the_cli_sets_shows_lists_and_resets_a_projects_caps(
    api_settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    executor: StandInExecutor,
    project: str,
    role_tokens: dict[Role, str],
) -> None:
    gateway_app = create_app(
        api_settings,
        publisher=functools.partial(publish_event, broker),
        sessions=sessions,
        requester=nats_requester(broker),
    )

    async with served(gateway_app, "the gateway") as url:

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
    api_settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    executor: StandInExecutor,
    project: str,
    role_tokens: dict[Role, str],
) -> None:
    gateway_app = create_app(
        api_settings,
        publisher=functools.partial(publish_event, broker),
        sessions=sessions,
        requester=nats_requester(broker),
    )
    async with served(gateway_app, "the gateway") as url, chromium() as browser:
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
