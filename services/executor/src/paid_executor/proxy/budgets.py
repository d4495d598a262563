"""Budgets shared by many runs: which scopes a model call counts against, and whether the shared
ledger's state lets it start. Pure, so the rule can be read and tested without a database.

The rule keeps a cap passed by at most one call's worth. A call reserves `estimate` (a configured
upper bound of one call) in every scope. It starts when every scope has room for the estimate on top
of what is spent and reserved; when a scope has some room left but less than one estimate, it starts
only if no other call holds a reservation there (it then is the one call that may pass the cap), and
otherwise waits for those calls to settle. A scope at or past its cap refuses."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paid_contracts.budgets import ALERT_PERCENT, STOP_PERCENT, BudgetScopeKind, BudgetUnit


@dataclass(frozen=True)
class Cap:
    """A limit in tokens and in money; None is no limit in that unit."""

    tokens: int | None = None
    usd: float | None = None

    def lowered(self, other: Cap) -> Cap:
        return Cap(tokens=_least(self.tokens, other.tokens), usd=_least(self.usd, other.usd))


Number = TypeVar("Number", int, float)


def _least(a: Number | None, b: Number | None) -> Number | None:
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True)
class Scope:
    key: str  # the ledger's counter: kind, owner and period
    cap: Cap
    label: str  # for the comment that says why a run stopped
    kind: BudgetScopeKind = "project_day"
    project: str | None = None
    period: str = ""
    time_zone: str = "UTC"


@dataclass(frozen=True)
class SpendPolicy:
    """The budgets one run's calls count against, beside its own run budget."""

    project: str
    day: Cap
    month: Cap
    global_month: Cap
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.time_zone[:60]!r}") from None

    def scopes(self, at: datetime) -> tuple[Scope, ...]:
        local = at.astimezone(ZoneInfo(self.time_zone))
        day, month, utc_month = local.strftime("%Y-%m-%d"), local.strftime("%Y-%m"), at.strftime("%Y-%m")
        zone = self.time_zone
        return (
            Scope(
                f"project:{self.project}:day:{day}",
                self.day,
                f"the project's daily budget ({day} {zone})",
                "project_day",
                self.project,
                day,
                zone,
            ),
            Scope(
                f"project:{self.project}:month:{month}",
                self.month,
                f"the project's monthly budget ({month} {zone})",
                "project_month",
                self.project,
                month,
                zone,
            ),
            Scope(
                f"global:month:{utc_month}",
                self.global_month,
                f"Paid's global monthly budget ({utc_month} UTC)",
                "global_month",
                None,
                utc_month,
            ),
        )


@dataclass(frozen=True)
class ScopeState:
    """One scope as the ledger holds it: settled spending and the live (unexpired) reservations."""

    spent_tokens: int = 0
    spent_usd: float = 0.0
    reserved_tokens: int = 0
    reserved_usd: float = 0.0
    reservations: int = 0


class Verdict(enum.Enum):
    START = "start"
    WAIT = "wait"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str | None = None  # why a call is refused


def decide(scopes: tuple[Scope, ...], states: dict[str, ScopeState], estimate: Cap) -> Decision:
    wait = False
    for scope in scopes:
        state = states.get(scope.key, ScopeState())
        for unit, cap, spent, reserved, per_call in (
            ("tokens", scope.cap.tokens, state.spent_tokens, state.reserved_tokens, estimate.tokens or 0),
            ("usd", scope.cap.usd, state.spent_usd, state.reserved_usd, estimate.usd or 0.0),
        ):
            if cap is None:
                continue
            if spent >= cap:
                used = f"{spent} tokens of {cap}" if unit == "tokens" else f"${spent:.4f} of ${cap:.2f}"
                return Decision(Verdict.REFUSE, f"{used} spent: {scope.label} is used up")
            if spent + reserved + per_call > cap and state.reservations > 0:
                wait = True
    return Decision(Verdict.WAIT if wait else Verdict.START)


THRESHOLDS = (ALERT_PERCENT, STOP_PERCENT)


def thresholds_crossed(
    cap: Cap, *, spent_tokens: int, spent_usd: float, added_tokens: int, added_usd: float
) -> list[tuple[int, BudgetUnit]]:
    """The thresholds (percent of the cap) that one settlement took the scope's spending to or past,
    each with the unit that got there; `spent_*` are the totals after the settlement. Settlements are
    serialized by the ledger's row lock, so each crossing belongs to exactly one of them."""
    crossed: dict[int, BudgetUnit] = {}
    for unit, limit, after, added in (
        ("tokens", cap.tokens, float(spent_tokens), float(added_tokens)),
        ("usd", cap.usd, spent_usd, added_usd),
    ):
        if limit is None or limit <= 0 or added <= 0:
            continue
        for percent in THRESHOLDS:
            line = limit * percent / 100
            if after - added < line <= after:
                crossed.setdefault(percent, "tokens" if unit == "tokens" else "usd")
    return sorted(crossed.items())
