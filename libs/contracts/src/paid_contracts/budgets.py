"""Budget thresholds: the metering proxy announces when a budget scope's spending reaches 80% of its
cap (an alert) and 100% (calls stop), once per scope and period.

The event id is derived from the scope (whose key names its period) and the threshold, so every
publisher of the same crossing, and every retry, carries the same id: NATS drops a duplicate within
its window, and consumers (the notifier's delivery log) dedupe on it for good."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from paid_contracts import subjects
from paid_contracts.envelope import Event

BudgetScopeKind = Literal["project_day", "project_month", "global_month"]
BudgetUnit = Literal["tokens", "usd"]
ALERT_PERCENT = 80
STOP_PERCENT = 100


def budget_event_id(scope: str, percent: int) -> str:
    """`scope`: the ledger's key, e.g. `project:alice/app:day:2026-12-07`."""
    return f"budget:{scope}:{percent}"


class BudgetThresholdReached(Event):
    """Spending in one budget scope reached `percent` of its cap in `unit` (the first unit to get there)."""

    scope: str = Field(description="the ledger's key: kind, owner and period")
    scope_kind: BudgetScopeKind
    project: str | None = Field(default=None, description="owner/name; None for the global budget")
    period: str = Field(description="the day (YYYY-MM-DD) or month (YYYY-MM) counted")
    time_zone: str = "UTC"
    percent: int = Field(ge=1)
    unit: BudgetUnit
    spent_tokens: int = Field(ge=0)
    spent_usd: float = Field(ge=0)
    cap_tokens: int | None = None
    cap_usd: float | None = None
    run_id: str | None = Field(default=None, description="the run whose call crossed the threshold")


class BudgetAlerted(BudgetThresholdReached):
    """80% of a cap is spent: calls go on."""

    SUBJECT: ClassVar[str] = subjects.BUDGET_ALERTED
    type: Literal["paid.budget.alerted"] = "paid.budget.alerted"


class BudgetExhausted(BudgetThresholdReached):
    """The cap is reached: the scope's calls are refused, its runs stop, until the period resets or
    the cap is raised."""

    SUBJECT: ClassVar[str] = subjects.BUDGET_EXHAUSTED
    type: Literal["paid.budget.exhausted"] = "paid.budget.exhausted"


EVENTS: tuple[type[Event], ...] = (BudgetAlerted, BudgetExhausted)
