"""Reads of the read models: keyword-only functions, used by the API and the live streams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, cast, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway.projections.models import RunEventRow, RunOutputRow, RunRow

FINISHED_STATUSES = frozenset(
    {"succeeded", "tests_failing", "iteration_limit", "budget_exceeded", "no_changes", "cancelled", "error"}
)


@dataclass(frozen=True)
class RunFilter:
    repo: str | None = None
    project: str | None = None
    status: str | None = None
    issue: int | None = None
    active: bool | None = None
    since: datetime | None = None
    limit: int = 50
    offset: int = 0
    projects: frozenset[str] | None = None  # a token's scope (lower-cased owner/name); None: every project


def project_of(run: RunRow) -> str:
    """The project a run belongs to: the one its events named, else its repository (owner/name)."""
    return run.project or run.repo


async def list_runs(session: AsyncSession, *, where: RunFilter) -> list[RunRow]:
    query = select(RunRow)
    if where.projects is not None:
        project = func.lower(func.coalesce(RunRow.project, RunRow.repo))
        query = query.where(project.in_(sorted(where.projects)))
    if where.repo is not None:
        query = query.where(RunRow.repo == where.repo)
    if where.project is not None:
        query = query.where(RunRow.project == where.project)
    if where.status is not None:
        query = query.where(RunRow.status == where.status)
    if where.issue is not None:
        query = query.where(RunRow.issue_number == where.issue)
    if where.active is True:
        query = query.where(RunRow.status == "running")
    elif where.active is False:
        query = query.where(RunRow.status != "running")
    if where.since is not None:
        query = query.where(RunRow.updated_at > where.since)
    query = query.order_by(col(RunRow.updated_at).desc()).offset(where.offset).limit(where.limit)
    return list((await session.exec(query)).all())


async def runs_changed_since(session: AsyncSession, *, since: datetime, limit: int = 200) -> list[RunRow]:
    query = select(RunRow).where(RunRow.updated_at > since).order_by(col(RunRow.updated_at)).limit(limit)
    return list((await session.exec(query)).all())


async def get_run(session: AsyncSession, *, run_id: str) -> RunRow | None:
    return await session.get(RunRow, run_id)


async def latest_run_for_issue(session: AsyncSession, *, repo: str, issue: int) -> RunRow | None:
    query = (
        select(RunRow)
        .where(RunRow.repo == repo, RunRow.issue_number == issue)
        .order_by(col(RunRow.started_at).desc().nulls_last(), col(RunRow.updated_at).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def run_steps(session: AsyncSession, *, run_id: str) -> list[RunEventRow]:
    query = select(RunEventRow).where(RunEventRow.run_id == run_id).order_by(col(RunEventRow.occurred_at))
    return list((await session.exec(query)).all())


async def output_after(
    session: AsyncSession, *, run_id: str, after_id: int = 0, limit: int = 500
) -> list[RunOutputRow]:
    """Lines that arrived after the line `after_id`, in arrival order (a cursor for live tails)."""
    query = (
        select(RunOutputRow)
        .where(RunOutputRow.run_id == run_id, col(RunOutputRow.id) > after_id)
        .order_by(col(RunOutputRow.id))
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def output_tail(session: AsyncSession, *, run_id: str, lines: int) -> list[RunOutputRow]:
    """The last `lines` lines in the agent's own order (attempt, batch, position)."""
    query = (
        select(RunOutputRow)
        .where(RunOutputRow.run_id == run_id)
        .order_by(
            col(RunOutputRow.attempt).desc(),
            col(RunOutputRow.sequence).desc(),
            col(RunOutputRow.position).desc(),
        )
        .limit(lines)
    )
    return list(reversed((await session.exec(query)).all()))


@dataclass(frozen=True)
class CostRow:
    project: str
    day: date
    runs: int
    cost_usd: float
    input_tokens: int
    output_tokens: int


async def cost_by_project_and_day(session: AsyncSession, *, since: date | None = None) -> list[CostRow]:
    """Cost per project (the repository when the run names no project) and day the run started."""
    project = func.coalesce(RunRow.project, RunRow.repo)
    day = cast(func.coalesce(RunRow.started_at, RunRow.updated_at), Date)
    query = select(  # type: ignore[call-overload]
        project,
        day,
        func.count(),
        func.coalesce(func.sum(RunRow.cost_usd), 0.0),
        func.coalesce(func.sum(RunRow.input_tokens), 0),
        func.coalesce(func.sum(RunRow.output_tokens), 0),
    ).group_by(project, day)
    if since is not None:
        query = query.where(day >= since)
    query = query.order_by(day.desc(), project)
    rows = (await session.exec(query)).all()
    return [
        CostRow(project=p, day=d, runs=int(n), cost_usd=float(c), input_tokens=int(i), output_tokens=int(o))
        for p, d, n, c, i, o in rows
    ]
