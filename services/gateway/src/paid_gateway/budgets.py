"""Spend against caps per project: the read model behind `GET /api/budgets` and the dashboard's budgets
page.

The caps are the executor's shared budgets, which its spend ledger enforces at the metering proxy: each
project's own caps where an admin set them, else the defaults, both as the executor answers them
(routers/budgets.py asks; when it does not answer, the gateway's copy of the defaults,
`PAID_GATEWAY_PROJECT_*`, checked against the executor's by tests/test_budget_defaults.py). The gateway
cannot read the ledger (another service's tables), so it counts spend from its runs projection:
finished runs, by the UTC day and month they started. A run in flight counts once it ends.
`cap_source` says whose caps a line shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from paid_gateway.projections.queries import CostRow

CapSource = Literal["default", "project"]
SPEND_NOTE = (
    "Spend of finished runs, by the UTC day and month they started, as the gateway recorded them; "
    "the executor's ledger, which also counts calls in flight, is what stops a run at a cap."
)


@dataclass(frozen=True)
class Cap:
    """A limit in tokens and in money; None is no limit in that unit."""

    tokens: int | None = None
    usd: float | None = None


@dataclass(frozen=True)
class ProjectCaps:
    day: Cap
    month: Cap
    time_zone: str = "UTC"  # where the executor's days and months begin for the project


class BudgetLine(BaseModel):
    period: Literal["day", "month"]
    starts: date
    runs: int
    spent_usd: float
    spent_tokens: int
    cap_usd: float | None
    cap_tokens: int | None
    cap_source: CapSource = Field(
        description="default: the caps every project has; project: caps set for this project"
    )
    used: float | None = Field(description="the larger share of a cap spent (1.0 = at the cap); None: no cap")


class ProjectBudget(BaseModel):
    project: str
    lines: list[BudgetLine]
    time_zone: str = Field(default="UTC", description="where the executor's budget days and months begin")


class BudgetList(BaseModel):
    projects: list[ProjectBudget]
    note: str = SPEND_NOTE


def project_budgets(
    spend: Iterable[CostRow],
    *,
    projects: Iterable[str],
    defaults: ProjectCaps,
    today: date,
    own_caps: dict[str, ProjectCaps] | None = None,
) -> BudgetList:
    """One day line and one month line per project: the registered ones and any with spend this month.
    `spend`: cost rows per project and day since the month began. Projects match case-insensitively."""
    names = {name.lower(): name for name in projects}
    by_project: dict[str, list[CostRow]] = {}
    for row in spend:
        if row.day >= today.replace(day=1):
            by_project.setdefault(row.project.lower(), []).append(row)
            names.setdefault(row.project.lower(), row.project)
    own = {key.lower(): caps for key, caps in (own_caps or {}).items()}
    result = []
    for key in sorted(names):
        source: CapSource = "project" if key in own else "default"
        caps = own.get(key, defaults)
        rows = by_project.get(key, [])
        day_rows = [row for row in rows if row.day == today]
        result.append(
            ProjectBudget(
                project=names[key],
                lines=[
                    _line("day", today, day_rows, caps.day, source),
                    _line("month", today.replace(day=1), rows, caps.month, source),
                ],
                time_zone=caps.time_zone,
            )
        )
    return BudgetList(projects=result)


def _line(
    period: Literal["day", "month"],
    starts: date,
    rows: list[CostRow],
    cap: Cap,
    source: CapSource,
) -> BudgetLine:
    usd = sum(row.cost_usd for row in rows)
    tokens = sum(row.input_tokens + row.output_tokens for row in rows)
    shares = [spent / limit for spent, limit in ((usd, cap.usd), (tokens, cap.tokens)) if limit]
    return BudgetLine(
        period=period,
        starts=starts,
        runs=sum(row.runs for row in rows),
        spent_usd=round(usd, 6),
        spent_tokens=tokens,
        cap_usd=cap.usd,
        cap_tokens=cap.tokens,
        cap_source=source,
        used=max(shares) if shares else None,
    )
