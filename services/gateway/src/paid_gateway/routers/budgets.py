"""Spend against caps per project (budgets.py says where each number comes from)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from paid_gateway import projects_repo
from paid_gateway.auth.deps import Viewer
from paid_gateway.budgets import BudgetList, Cap, ProjectCaps, project_budgets
from paid_gateway.deps import SessionDep, SettingsDep
from paid_gateway.projections import queries

router = APIRouter(prefix="/api/budgets", tags=["budgets"])


@router.get("")
async def list_budgets(viewer: Viewer, session: SessionDep, settings: SettingsDep) -> BudgetList:
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
    defaults = ProjectCaps(
        day=Cap(settings.project_daily_max_tokens, settings.project_daily_max_cost_usd),
        month=Cap(settings.project_monthly_max_tokens, settings.project_monthly_max_cost_usd),
    )
    return project_budgets(spend, projects=registered, defaults=defaults, today=today)
