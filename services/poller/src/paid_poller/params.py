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
    paused: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class PollRepositoryInput(_Params):
    owner: str
    name: str


class PollResult(_Params):
    not_modified: bool = Field(description="nothing changed: every read was answered 304")
    published: int = 0
    refused: int = Field(default=0, description="triggers by untrusted users, answered with a comment")
    interval_seconds: float | None = Field(default=None, description="the project's interval, if registered")
    rate_limited_until: float | None = Field(default=None, description="epoch seconds; retry after it")


class PollStatus(_Params):
    """What a poll run has done so far (this run only: continue-as-new starts counting afresh)."""

    cycles: int = 0
    published: int = 0
    rate_limit_waits: int = 0
    paused: bool = False
    last: PollResult | None = None
