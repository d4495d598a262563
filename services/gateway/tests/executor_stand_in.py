"""Test plumbing for the budget caps: a stand-in for the executor's `paid.executor.budgets.*` responder
on the real NATS server (services never import each other; it answers as the real one does), and a
gateway app that asks it."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from faststream.nats import NatsBroker, NatsMessage
from nats_answers import answering
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts.budget_caps import (
    BudgetCaps,
    BudgetsReply,
    ListProjectBudgets,
    SetProjectBudget,
    project_key,
)
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


@asynccontextmanager
async def stand_in_executor(nats_url: str, asker: NatsBroker) -> AsyncIterator[StandInExecutor]:
    """Answers until the block ends; `asker` is a broker that waits until it answers."""
    stand_in = StandInExecutor()
    responder = make_broker(nats_url, "stand-in-executor")

    @responder.subscriber(ListProjectBudgets.SUBJECT)
    async def on_list(message: NatsMessage) -> BudgetsReply:
        return stand_in.reply()

    @responder.subscriber(SetProjectBudget.SUBJECT)
    async def on_set(message: NatsMessage) -> BudgetsReply:
        try:
            request = SetProjectBudget.model_validate_json(message.body)
        except ValidationError:
            return BudgetsReply(ok=False, error="invalid budget request")
        stand_in.requests.append(request)
        if request.caps is None:
            stand_in.caps.pop(project_key(request.project), None)
        else:
            stand_in.caps[project_key(request.project)] = request.caps
        return stand_in.reply()

    await responder.start()
    try:
        await answering(asker, ListProjectBudgets.SUBJECT, SetProjectBudget.SUBJECT)
        yield stand_in
    finally:
        await responder.stop()


def budget_gateway(
    settings: GatewaySettings, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession]
) -> FastAPI:
    """A gateway whose budget routes ask over `broker`."""
    return create_app(
        settings,
        publisher=functools.partial(publish_event, broker),
        sessions=sessions,
        requester=nats_requester(broker),
    )


async def register_project(gateway: httpx.AsyncClient, admin_token: str) -> str:
    name = f"acme/Budget-{uuid.uuid4().hex[:8]}"
    admin = {"Authorization": f"Bearer {admin_token}"}
    registered = await gateway.post("/api/projects", json={"repository": name}, headers=admin)
    assert registered.status_code == 201, registered.text
    return name


def as_role(tokens: dict[Role, str], role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}
