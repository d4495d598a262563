"""A project's own budget caps: set by admins through the gateway, kept and enforced by the executor.

The executor owns the spend ledger, so it keeps the caps too (its table `executor.project_budgets`)
and answers the gateway over core NATS request-reply (`paid.executor.budgets.*`). A cap left unset
(None) is Paid's default for that unit (`PAID_EXECUTOR_PROJECT_*`). Validation lives here so that
both sides refuse the same input: a negative or non-numeric cap and an unknown time zone are refused,
naming the field."""

from __future__ import annotations

import re
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from paid_contracts import subjects

PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
MAX_TOKENS = 10**15
MAX_USD = 10**9


class BudgetCaps(BaseModel):
    """One project's caps; None is Paid's default in that unit. 0 allows no spending at all."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    daily_max_tokens: int | None = Field(default=None, ge=0, le=MAX_TOKENS, strict=True)
    daily_max_cost_usd: float | None = Field(default=None, ge=0, le=MAX_USD, strict=True, allow_inf_nan=False)
    monthly_max_tokens: int | None = Field(default=None, ge=0, le=MAX_TOKENS, strict=True)
    monthly_max_cost_usd: float | None = Field(
        default=None, ge=0, le=MAX_USD, strict=True, allow_inf_nan=False
    )
    time_zone: str | None = Field(
        default=None,
        max_length=64,
        description="an IANA zone (Europe/Paris) where the project's days and months begin; None: Paid's",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, zone: str | None) -> str | None:
        if zone is None:
            return None
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an unknown time zone (an IANA name such as Europe/Paris or UTC)") from None
        return zone


def project_key(project: str) -> str:
    """Projects are matched case-insensitively, as GitHub matches repositories."""
    return project.lower()


class BudgetRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    SUBJECT: ClassVar[str]
    schema_version: int = 1
    actor: str | None = Field(default=None, description="who asked, for the audit log")


class ListProjectBudgets(BudgetRequest):
    """Every project's own caps, and Paid's defaults."""

    SUBJECT: ClassVar[str] = subjects.EXECUTOR_BUDGETS_LIST


class SetProjectBudget(BudgetRequest):
    """Sets (replaces) a project's caps; `caps` None returns the project to Paid's defaults."""

    SUBJECT: ClassVar[str] = subjects.EXECUTOR_BUDGETS_SET
    project: str = Field(pattern=PROJECT_NAME.pattern, description="owner/name")
    caps: BudgetCaps | None = None


class BudgetsReply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    ok: bool
    error: str | None = None
    defaults: BudgetCaps = BudgetCaps()
    projects: dict[str, BudgetCaps] = Field(
        default_factory=dict, description="caps by project (lowercase owner/name), only those set"
    )
