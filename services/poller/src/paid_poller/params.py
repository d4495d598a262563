"""Inputs and results of the poller's workflow and activities: one pydantic model each."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True)


class PollInput(_Params):
    owner: str
    name: str
    interval_seconds: float = Field(gt=0)
    cycles_per_run: int = Field(default=200, gt=0)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class PollRepositoryInput(_Params):
    owner: str
    name: str


class PollResult(_Params):
    changed_issues: int
    not_modified: bool


class PollStatus(_Params):
    """What a poll run has done so far (this run only: continue-as-new starts counting afresh)."""

    cycles: int = 0
    changed_issues: int = 0
    last: PollResult | None = None
