"""The admission queue in the executor's schema: one row per run waiting for a slot or holding one.

Every decision runs under one transaction-scoped advisory lock, so two workers admitting at once see
each other's rows and cannot both take the last slot. A decision reads every row: the queue is runs, not
calls (hundreds at most), and one statement of each kind keeps it one round trip per step."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_executor.admission import AdmissionLimits, AdmissionPlan, Ticket, plan_admissions
from paid_executor.proxy.budgets import Scope

BudgetScopes = Callable[[str], tuple[Scope, ...]]  # a project's budgets now
# Any constant: the admissions of every worker serialize on it.
LOCK = text("SELECT pg_advisory_xact_lock(hashtext('paid.executor.run_admissions'))")
ENQUEUE = text(
    "INSERT INTO executor.run_admissions (workflow_id, project, provider, requested_at) "
    "VALUES (:workflow_id, :project, :provider, :requested_at) ON CONFLICT (workflow_id) DO NOTHING"
)
ROWS = text(
    "SELECT workflow_id, project, provider, requested_at, admitted_at IS NOT NULL "
    "FROM executor.run_admissions"
)
TURNS = text("SELECT project, served_at FROM executor.admission_turns")
ADMIT = text(
    "UPDATE executor.run_admissions SET admitted_at = clock_timestamp() WHERE workflow_id = :workflow_id"
)
SERVED = text(
    "INSERT INTO executor.admission_turns (project, served_at) VALUES (:project, clock_timestamp()) "
    "ON CONFLICT (project) DO UPDATE SET served_at = excluded.served_at"
)
RELEASE = text("DELETE FROM executor.run_admissions WHERE workflow_id = ANY(CAST(:ids AS text[]))")
SPENT = text(
    "SELECT scope, spent_tokens, spent_usd FROM executor.spend_counters "
    "WHERE scope = ANY(CAST(:keys AS text[]))"
)
UNCHECKED = text(
    "UPDATE executor.run_admissions SET checked_at = clock_timestamp() WHERE workflow_id IN ("
    " SELECT workflow_id FROM executor.run_admissions"
    " WHERE workflow_id <> :workflow_id AND checked_at < clock_timestamp() - make_interval(secs => :age)"
    " ORDER BY checked_at LIMIT :n FOR UPDATE SKIP LOCKED) RETURNING workflow_id"
)


@dataclass(frozen=True)
class Placement:
    admitted: bool
    position: int | None = None
    reason: str | None = None
    waiting: int = 0  # runs waiting in all


async def admit(
    session: AsyncSession,
    ticket: Ticket,
    limits: AdmissionLimits,
    *,
    budget_scopes: BudgetScopes | None = None,
) -> Placement:
    """Queues `ticket` (once) and admits it if the fair order gives it a free slot now. Idempotent: a
    ticket already admitted stays admitted. `budget_scopes` gives a project's budgets, whose
    exhaustion holds its runs back."""
    await session.execute(LOCK)
    await session.execute(
        ENQUEUE,
        {
            "workflow_id": ticket.workflow_id,
            "project": ticket.project,
            "provider": ticket.provider,
            "requested_at": ticket.requested_at,
        },
    )
    tickets = await _tickets(session)
    if any(t.workflow_id == ticket.workflow_id and t.admitted for t in tickets):
        await session.commit()
        return Placement(admitted=True)
    plan = await _plan(session, tickets, limits, budget_scopes)
    placement = _placement(plan, ticket.workflow_id)
    if placement.admitted:
        await session.execute(ADMIT, {"workflow_id": ticket.workflow_id})
        await session.execute(SERVED, {"project": ticket.project})
    await session.commit()
    return placement


async def release(
    session: AsyncSession,
    workflow_ids: Iterable[str],
    limits: AdmissionLimits,
    *,
    budget_scopes: BudgetScopes | None = None,
) -> tuple[str, ...]:
    """Frees the runs' slots (or their places in the queue). Returns the waiting runs that may now
    start, for the caller to wake."""
    await session.execute(LOCK)
    await session.execute(RELEASE, {"ids": list(workflow_ids)})
    tickets = await _tickets(session)
    plan = await _plan(session, tickets, limits, budget_scopes)
    await session.commit()
    return plan.admitted


async def unchecked(session: AsyncSession, *, besides: str, age_seconds: float, limit: int) -> list[str]:
    """Up to `limit` other runs in the table not checked for `age_seconds`, marked checked now: the
    caller asks Temporal whether they still run and releases those that do not."""
    rows = await session.execute(UNCHECKED, {"workflow_id": besides, "age": age_seconds, "n": limit})
    ids = [row[0] for row in rows.all()]
    await session.commit()
    return ids


async def _tickets(session: AsyncSession) -> list[Ticket]:
    rows = (await session.execute(ROWS)).all()
    return [Ticket(row[0], row[1], row[2], row[3], bool(row[4])) for row in rows]


async def _plan(
    session: AsyncSession,
    tickets: list[Ticket],
    limits: AdmissionLimits,
    budget_scopes: BudgetScopes | None,
) -> AdmissionPlan:
    served: dict[str, datetime] = {row[0]: row[1] for row in (await session.execute(TURNS)).all()}
    waiting_projects = {t.project for t in tickets if not t.admitted}
    scopes = {project: budget_scopes(project) for project in waiting_projects} if budget_scopes else {}
    blocked = await _exhausted(session, scopes)
    return plan_admissions(tickets, limits, served=served, blocked=blocked)


async def _exhausted(session: AsyncSession, budget_scopes: dict[str, tuple[Scope, ...]]) -> dict[str, str]:
    """The projects one of whose budgets is spent, with the reason their runs wait."""
    keys = sorted({scope.key for scopes in budget_scopes.values() for scope in scopes})
    if not keys:
        return {}
    rows = (await session.execute(SPENT, {"keys": keys})).all()
    spent = {row[0]: (int(row[1]), float(row[2])) for row in rows}
    blocked: dict[str, str] = {}
    for project, scopes in budget_scopes.items():
        for scope in scopes:
            tokens, usd = spent.get(scope.key, (0, 0.0))
            if (scope.cap.tokens is not None and tokens >= scope.cap.tokens) or (
                scope.cap.usd is not None and usd >= scope.cap.usd
            ):
                blocked[project] = f"{scope.label} is used up; the run starts when it resets or is raised"
                break
    return blocked


def _placement(plan: AdmissionPlan, workflow_id: str) -> Placement:
    waiting = len(plan.positions)
    if workflow_id in plan.admitted:
        return Placement(admitted=True, waiting=waiting - 1)
    return Placement(
        admitted=False,
        position=plan.positions.get(workflow_id),
        reason=plan.reasons.get(workflow_id),
        waiting=waiting,
    )
