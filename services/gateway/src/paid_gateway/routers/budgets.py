"""Spend against caps per project (budgets.py says where each number comes from), and each project's
own caps, which admins set here and the executor keeps and enforces (budget_caps.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, Field

from paid_contracts.budget_caps import BudgetCaps, BudgetsReply, ListProjectBudgets, SetProjectBudget
from paid_gateway import projects_repo
from paid_gateway.auth.deps import Admin, Viewer
from paid_gateway.budget_caps import BudgetsUnavailable, ExecutorBudgets
from paid_gateway.budgets import SPEND_NOTE, BudgetList, Cap, ProjectCaps, project_budgets
from paid_gateway.config import GatewaySettings
from paid_gateway.deps import SessionDep, SettingsDep
from paid_gateway.projections import queries

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/budgets", tags=["budgets"])
NamePart = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]
UNANSWERED_NOTE = " The executor did not answer: every project's caps are shown as the defaults."


class ProjectCapsPublic(BaseModel):
    project: str
    caps: BudgetCaps = Field(description="the project's own caps; a null cap is the default in that unit")
    defaults: BudgetCaps = Field(description="Paid's caps for every project")
    own: bool = Field(description="whether the project has caps of its own")


@router.get("")
async def list_budgets(
    viewer: Viewer, request: Request, session: SessionDep, settings: SettingsDep
) -> BudgetList:
    """Each project's spend today and this month (UTC) against its daily and monthly caps; a token
    scoped to projects sees only theirs."""
    today = datetime.now(UTC).date()
    spend = [
        row
        for row in await queries.cost_by_project_and_day(session, since=today.replace(day=1))
        if viewer.sees(row.project)
    ]
    registered = [
        name
        for name in (f"{p.owner}/{p.name}" for p in await projects_repo.list_projects(session))
        if viewer.sees(name)
    ]
    try:
        reply = await _executor(request).ask(ListProjectBudgets(actor=viewer.name))
    except BudgetsUnavailable as error:
        log.warning("budgets shown with the gateway's defaults: %s", error)
        budgets = project_budgets(spend, projects=registered, defaults=_configured(settings), today=today)
        return budgets.model_copy(update={"note": SPEND_NOTE + UNANSWERED_NOTE})
    own = {project: _caps(caps, _caps(reply.defaults)) for project, caps in reply.projects.items()}
    return project_budgets(
        spend, projects=registered, defaults=_caps(reply.defaults), today=today, own_caps=own
    )


@router.get("/{owner}/{name}")
async def get_project_caps(
    admin: Admin, request: Request, session: SessionDep, owner: NamePart, name: NamePart
) -> ProjectCapsPublic:
    """The project's own caps as set (nulls are the defaults), beside the defaults."""
    project = await _registered(session, owner, name)
    return _public(project, await _ask(request, ListProjectBudgets(actor=admin.name)))


@router.put("/{owner}/{name}")
async def set_project_caps(
    admin: Admin, request: Request, session: SessionDep, owner: NamePart, name: NamePart, caps: BudgetCaps
) -> ProjectCapsPublic:
    """Sets (replaces) the project's caps: daily and monthly, in tokens and US dollars, and its time
    zone; a field left out or null is the default. Calls of its runs count against them from each run's
    next iteration. `.paid.yml` may still only lower a run's own budget."""
    project = await _registered(session, owner, name)
    reply = await _ask(request, SetProjectBudget(project=project, caps=caps, actor=admin.name))
    log.info("budget of %s set by %s: %s", project, admin.name, caps.model_dump_json())
    return _public(project, reply)


@router.delete("/{owner}/{name}")
async def reset_project_caps(
    admin: Admin, request: Request, session: SessionDep, owner: NamePart, name: NamePart
) -> ProjectCapsPublic:
    """Returns the project to the default caps."""
    project = await _registered(session, owner, name)
    reply = await _ask(request, SetProjectBudget(project=project, caps=None, actor=admin.name))
    log.info("budget of %s reset to the defaults by %s", project, admin.name)
    return _public(project, reply)


async def _registered(session: SessionDep, owner: str, name: str) -> str:
    found = await projects_repo.get_project(session, key=projects_repo.project_key(f"{owner}/{name}"))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no project {owner}/{name} is registered")
    return f"{found.owner}/{found.name}"


def _executor(request: Request) -> ExecutorBudgets:
    executor: ExecutorBudgets = request.app.state.executor_budgets
    return executor


async def _ask(request: Request, question: ListProjectBudgets | SetProjectBudget) -> BudgetsReply:
    try:
        return await _executor(request).ask(question)
    except BudgetsUnavailable as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"budgets: {error}") from None


def _public(project: str, reply: BudgetsReply) -> ProjectCapsPublic:
    own = reply.projects.get(project.lower())
    return ProjectCapsPublic(
        project=project, caps=own or BudgetCaps(), defaults=reply.defaults, own=own is not None
    )


def _caps(caps: BudgetCaps, defaults: ProjectCaps | None = None) -> ProjectCaps:
    """The contract's caps as the read model's; a unit left unset takes `defaults`' value."""
    base = defaults or ProjectCaps(day=Cap(), month=Cap())
    return ProjectCaps(
        day=Cap(
            base.day.tokens if caps.daily_max_tokens is None else caps.daily_max_tokens,
            base.day.usd if caps.daily_max_cost_usd is None else caps.daily_max_cost_usd,
        ),
        month=Cap(
            base.month.tokens if caps.monthly_max_tokens is None else caps.monthly_max_tokens,
            base.month.usd if caps.monthly_max_cost_usd is None else caps.monthly_max_cost_usd,
        ),
        time_zone=caps.time_zone or base.time_zone,
    )


def _configured(settings: GatewaySettings) -> ProjectCaps:
    return ProjectCaps(
        day=Cap(settings.project_daily_max_tokens, settings.project_daily_max_cost_usd),
        month=Cap(settings.project_monthly_max_tokens, settings.project_monthly_max_cost_usd),
    )
