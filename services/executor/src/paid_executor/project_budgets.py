"""Projects' own budget caps (`executor.project_budgets`): kept here because the executor owns the spend
ledger that enforces them, set by admins through the gateway (request-reply on `paid.executor.budgets.*`,
see paid_contracts.budget_caps), and read when an iteration opens its proxy token, so a raised or
lowered cap holds from the next iteration of every run."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from faststream.nats import NatsBroker, NatsMessage
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts.budget_caps import (
    BudgetCaps,
    BudgetsReply,
    ListProjectBudgets,
    SetProjectBudget,
    project_key,
)
from paid_executor.config import ExecutorSettings
from paid_executor.proxy.budgets import Cap, SpendPolicy

log = logging.getLogger(__name__)
QUEUE = "executor-budgets"  # one replica answers each request

SELECT_ONE = text("SELECT caps FROM executor.project_budgets WHERE project = :project")
SELECT_ALL = text("SELECT project, caps FROM executor.project_budgets ORDER BY project")
UPSERT = text(
    """
    INSERT INTO executor.project_budgets (project, caps, updated_by, updated_at)
    VALUES (:project, CAST(:caps AS jsonb), :actor, now())
    ON CONFLICT (project) DO UPDATE
    SET caps = EXCLUDED.caps, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at
    """
)
DELETE = text("DELETE FROM executor.project_budgets WHERE project = :project")


def _caps(stored: Any) -> BudgetCaps:
    return BudgetCaps.model_validate_json(stored) if isinstance(stored, str) else BudgetCaps(**stored)


async def own_caps(engine: AsyncEngine, project: str) -> BudgetCaps | None:
    async with engine.connect() as connection:
        stored = (await connection.execute(SELECT_ONE, {"project": project_key(project)})).scalar()
    return None if stored is None else _caps(stored)


async def all_caps(engine: AsyncEngine) -> dict[str, BudgetCaps]:
    async with engine.connect() as connection:
        rows = (await connection.execute(SELECT_ALL)).all()
    return {str(row[0]): _caps(row[1]) for row in rows}


async def caps_by_project(session: AsyncSession) -> dict[str, BudgetCaps]:
    """Every project's own caps, keyed as `project_key` spells the project."""
    rows = (await session.execute(SELECT_ALL)).all()
    return {str(row[0]): _caps(row[1]) for row in rows}


async def set_caps(engine: AsyncEngine, project: str, caps: BudgetCaps | None, *, actor: str | None) -> None:
    async with engine.begin() as connection:
        if caps is None:
            await connection.execute(DELETE, {"project": project_key(project)})
        else:
            await connection.execute(
                UPSERT, {"project": project_key(project), "caps": caps.model_dump_json(), "actor": actor}
            )


def with_own_caps(policy: SpendPolicy, caps: BudgetCaps | None) -> SpendPolicy:
    """The policy with the project's own caps in place of the defaults, unit by unit."""
    if caps is None:
        return policy

    def chosen(own: Any, default: Any) -> Any:
        return default if own is None else own

    return replace(
        policy,
        day=Cap(
            chosen(caps.daily_max_tokens, policy.day.tokens), chosen(caps.daily_max_cost_usd, policy.day.usd)
        ),
        month=Cap(
            chosen(caps.monthly_max_tokens, policy.month.tokens),
            chosen(caps.monthly_max_cost_usd, policy.month.usd),
        ),
        time_zone=caps.time_zone or policy.time_zone,
    )


def defaults(settings: ExecutorSettings) -> BudgetCaps:
    return BudgetCaps(
        daily_max_tokens=settings.project_daily_max_tokens,
        daily_max_cost_usd=settings.project_daily_max_cost_usd,
        monthly_max_tokens=settings.project_monthly_max_tokens,
        monthly_max_cost_usd=settings.project_monthly_max_cost_usd,
        time_zone=settings.budget_time_zone,
    )


def register(broker: NatsBroker, engine: AsyncEngine, settings: ExecutorSettings) -> None:
    """Answers the gateway. The gateway validated the request already; a malformed one is answered
    with the problem rather than left to time out."""

    async def listing() -> BudgetsReply:
        return BudgetsReply(ok=True, defaults=defaults(settings), projects=await all_caps(engine))

    @broker.subscriber(ListProjectBudgets.SUBJECT, queue=QUEUE)
    async def on_list(message: NatsMessage) -> BudgetsReply:
        return await listing()

    @broker.subscriber(SetProjectBudget.SUBJECT, queue=QUEUE)
    async def on_set(message: NatsMessage) -> BudgetsReply:
        try:
            request = SetProjectBudget.model_validate_json(message.body)
        except ValidationError as error:
            return BudgetsReply(ok=False, error=f"invalid budget request: {_fields(error)}")
        await set_caps(engine, request.project, request.caps, actor=request.actor)
        log.info(
            "budget of %s %s by %s",
            request.project,
            "reset to the defaults" if request.caps is None else f"set to {request.caps.model_dump_json()}",
            request.actor,
        )
        return await listing()


def _fields(error: ValidationError) -> str:
    return ", ".join(".".join(str(part) for part in problem["loc"]) for problem in error.errors())
