"""Fair admission: the rule (round robin between projects, FIFO within, limits in total, per project and
per provider), the queue in PostgreSQL under concurrent workers, a spent budget holding a project's runs
back, and limits that would never admit anything refused at startup."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_contracts.budget_caps import BudgetCaps
from paid_executor import admission_store
from paid_executor.activities.admission import budget_scopes
from paid_executor.admission import AdmissionLimits, Ticket, fair_order, plan_admissions, provider_of
from paid_executor.config import ExecutorSettings
from paid_executor.project_budgets import caps_by_project, set_caps
from paid_executor.proxy.budgets import Cap, Scope
from paid_runtime.database import session_factory

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ONE_AT_A_TIME = AdmissionLimits(total=1, per_project=1, per_provider=1)


def ticket(project: str, n: int, *, admitted: bool = False, provider: str = "anthropic") -> Ticket:
    return Ticket(f"{project}#{n}", project, provider, T0 + timedelta(seconds=n), admitted)


def test_projects_take_turns_and_each_keeps_its_order() -> None:
    waiting = [ticket("a", n) for n in range(1, 6)] + [ticket("b", n) for n in range(10, 15)]
    order = [t.workflow_id for t in fair_order(waiting, served={})]
    assert order == ["a#1", "b#10", "a#2", "b#11", "a#3", "b#12", "a#4", "b#13", "a#5", "b#14"]


def test_the_project_served_least_recently_goes_first() -> None:
    waiting = [ticket("a", 2), ticket("b", 10)]  # a's oldest waits longer, but a was just served
    order = fair_order(waiting, served={"a": T0 + timedelta(hours=1)})
    assert [t.workflow_id for t in order] == ["b#10", "a#2"]


def test_a_full_project_does_not_hold_back_another() -> None:
    tickets = [ticket("a", 1, admitted=True), ticket("a", 2), ticket("b", 3)]
    plan = plan_admissions(tickets, AdmissionLimits(total=5, per_project=1, per_provider=5), served={"a": T0})
    assert plan.admitted == ("b#3",)
    assert plan.positions == {"b#3": 1, "a#2": 2}
    assert "project's 1 run slot" in plan.reasons["a#2"]


def test_limits_in_total_and_per_provider() -> None:
    tickets = [ticket("a", 1), ticket("b", 2), ticket("c", 3, provider="openai"), ticket("d", 4)]
    plan = plan_admissions(tickets, AdmissionLimits(total=3, per_project=4, per_provider=1), served={})
    assert plan.admitted == ("a#1", "c#3")
    assert "slot(s) of anthropic" in plan.reasons["b#2"]
    full = plan_admissions(tickets, AdmissionLimits(total=2, per_project=4, per_provider=4), served={})
    assert full.admitted == ("a#1", "b#2")
    assert "all 2 run slots" in full.reasons["c#3"]


def test_a_project_override_and_a_blocked_project() -> None:
    tickets = [ticket("a", 1), ticket("a", 2), ticket("b", 3)]
    limits = AdmissionLimits(total=9, per_project=1, per_provider=9, projects={"a": 2})
    plan = plan_admissions(tickets, limits, served={}, blocked={"b": "budget spent"})
    assert plan.admitted == ("a#1", "a#2")
    assert plan.reasons == {"b#3": "budget spent"}


def test_the_provider_comes_from_the_model_then_the_agent() -> None:
    assert provider_of("aider", "gpt-5") == "openai"
    assert provider_of("opencode", "anthropic/claude-sonnet-4-5") == "anthropic"
    assert provider_of("gemini", None) == "gemini"
    assert provider_of("demo", None) == "default"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_running_runs", 0),
        ("max_running_runs_per_project", -1),
        ("max_running_runs_per_provider", 0),
    ],
)
def test_a_zero_or_negative_limit_is_refused_naming_the_setting(field: str, value: int) -> None:
    with pytest.raises(ValidationError, match=f"PAID_EXECUTOR_{field.upper()}={value}"):
        ExecutorSettings(**{field: value})  # type: ignore[arg-type]


def test_a_zero_project_override_is_refused_naming_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAID_EXECUTOR_PROJECT_MAX_RUNNING_RUNS", '{"alice/calc": 0}')
    with pytest.raises(ValidationError, match=r"PAID_EXECUTOR_PROJECT_MAX_RUNNING_RUNS\['alice/calc'\]=0"):
        ExecutorSettings()


async def test_concurrent_workers_admit_at_most_the_limit(engine: AsyncEngine) -> None:
    """Eight runs of one project ask at once, each through its own session (as eight workers would):
    two are admitted, the others queue with distinct positions; releasing one admits the next in order."""
    sessions = session_factory(engine)
    project = f"alice/p-{uuid.uuid4().hex[:8]}"
    limits = AdmissionLimits(total=1000, per_project=2, per_provider=1000)
    tickets = [ticket(project, n) for n in range(8)]

    async def ask(one: Ticket) -> admission_store.Placement:
        async with sessions() as session:
            return await admission_store.admit(session, one, limits)

    placements = await asyncio.gather(*(ask(one) for one in tickets))
    admitted = [t.workflow_id for t, p in zip(tickets, placements, strict=True) if p.admitted]
    assert len(admitted) == 2
    waiting = sorted((t for t in tickets if t.workflow_id not in admitted), key=lambda t: t.requested_at)
    again = [await ask(one) for one in waiting]  # positions now that every run is in the queue
    assert [p.position for p in again] == [1, 2, 3, 4, 5, 6]
    assert not any(p.admitted for p in again)
    async with sessions() as session:
        wake = await admission_store.release(session, admitted[:1], limits)
    assert len(wake) == 1
    assert wake[0] not in admitted
    assert wake == (waiting[0].workflow_id,)
    async with sessions() as session:
        await admission_store.release(session, [t.workflow_id for t in tickets], limits)


async def test_a_spent_budget_queues_the_project_until_it_is_raised(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    project = f"alice/b-{uuid.uuid4().hex[:8]}"
    key = f"project:{project}:day:test"
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO executor.spend_counters (scope, spent_usd) VALUES (:k, 1.0)"), {"k": key}
        )
    limits = AdmissionLimits(total=10, per_project=10, per_provider=10)
    cap = {"usd": 1.0}

    def scopes(name: str) -> tuple[Scope, ...]:
        return (Scope(key, Cap(usd=cap["usd"]), "the project's daily budget"),) if name == project else ()

    async with sessions() as session:
        held = await admission_store.admit(session, ticket(project, 1), limits, budget_scopes=scopes)
    assert not held.admitted
    assert held.position == 1
    assert held.reason
    assert "daily budget is used up" in held.reason
    cap["usd"] = 2.0  # the cap is raised
    async with sessions() as session:
        again = await admission_store.admit(session, ticket(project, 1), limits, budget_scopes=scopes)
        assert again.admitted
        await admission_store.release(session, [f"{project}#1"], limits)


async def test_a_projects_own_cap_holds_its_runs_back_where_the_default_would_not(
    engine: AsyncEngine,
) -> None:
    """The caps an admin set for the project (API, `executor.project_budgets`) decide, as at the proxy."""
    sessions = session_factory(engine)
    project, other = f"alice/own-{uuid.uuid4().hex[:8]}", f"alice/default-{uuid.uuid4().hex[:8]}"
    settings = ExecutorSettings(budgets_shared=True, project_daily_max_cost_usd=20.0)
    now = datetime.now(UTC)
    for name in (project, other):  # each project has spent $5 today
        (day_scope, *_) = budget_scopes(settings, {}, now)(name)
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO executor.spend_counters (scope, spent_usd) VALUES (:k, 5.0)"),
                {"k": day_scope.key},
            )
    await set_caps(engine, project, BudgetCaps(daily_max_cost_usd=5.0), actor="admin")
    limits = AdmissionLimits(total=10, per_project=10, per_provider=10)
    try:
        async with sessions() as session:
            scopes = budget_scopes(settings, await caps_by_project(session), now)
            held = await admission_store.admit(session, ticket(project, 1), limits, budget_scopes=scopes)
            admitted = await admission_store.admit(session, ticket(other, 1), limits, budget_scopes=scopes)
        assert not held.admitted
        assert "daily budget" in (held.reason or "")
        assert admitted.admitted
    finally:
        await set_caps(engine, project, None, actor="admin")
        async with sessions() as session:
            await admission_store.release(session, [f"{project}#1", f"{other}#1"], limits)
