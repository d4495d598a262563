"""Projects' own budget caps through the gateway: admins set, read and reset them; the gateway checks the
input (a 422 naming the field) and asks the executor, which keeps them, over NATS request-reply.

The executor is stood in for by a responder on the real NATS server that answers as the real one does
(executor_stand_in.py; the executor's side, its table and the proxy using the caps, is tested in
services/executor/tests/test_project_budgets.py). The CLI and the dashboard: test_budget_caps_clients.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from executor_stand_in import StandInExecutor, as_role, budget_gateway, register_project, stand_in_executor
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts.budget_caps import BudgetCaps
from paid_devstack.nats import NatsServer
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings


@pytest.fixture
async def executor(nats_server: NatsServer, broker: NatsBroker) -> AsyncIterator[StandInExecutor]:
    async with stand_in_executor(nats_server.url, broker) as stand_in:
        yield stand_in


@pytest.fixture
async def gateway(
    api_settings: GatewaySettings, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = budget_gateway(api_settings, broker, sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        yield http


@pytest.fixture
async def project(gateway: httpx.AsyncClient, role_tokens: dict[Role, str]) -> str:
    return await register_project(gateway, role_tokens[Role.ADMIN])


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
