"""Cost per project and day, from the runs read model."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from paid_gateway.auth.deps import Viewer
from paid_gateway.deps import SessionDep
from paid_gateway.projections import queries
from paid_gateway.projections.public import CostList, CostPublic

router = APIRouter(prefix="/api/costs", tags=["costs"])


@router.get("")
async def list_costs(
    viewer: Viewer,
    session: SessionDep,
    since: Annotated[date | None, Query(description="first day (UTC) to include")] = None,
) -> CostList:
    """Runs, tokens and cost per project (the repository when no project is named) and day; a token
    scoped to projects sees only theirs."""
    rows = await queries.cost_by_project_and_day(session, since=since)
    return CostList(
        costs=[
            CostPublic.model_validate(row, from_attributes=True) for row in rows if viewer.sees(row.project)
        ]
    )
