"""What the API returns about runs: the model family RunPublic / RunDetail and their parts."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, computed_field

from paid_contracts import IterationSummary
from paid_contracts.workflow_ids import attempt_of, round_of
from paid_gateway.projections.models import RunEventRow, RunOutputRow, RunRow


class RunBase(BaseModel):
    run_id: str
    workflow_id: str
    project: str | None
    repo: str = Field(description="owner/name")
    issue_number: int
    status: str = Field(description="running, or how the run ended (a RunOutcome value)")

    @computed_field(description="the attempt at the issue this run is: 1, then 2 after a retry, ...")  # type: ignore[prop-decorator]
    @property
    def attempt(self) -> int:
        return attempt_of(self.workflow_id)

    @computed_field(description="a follow-up round on the run's pull request: its number; None: an attempt")  # type: ignore[prop-decorator]
    @property
    def round(self) -> int | None:
        return round_of(self.workflow_id, self.run_id)


class RunPublic(RunBase):
    agent: str | None
    prompt_version: str | None
    detail: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    iterations: int
    pull_request_number: int | None
    pull_request_url: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    model: str | None = Field(default=None, description="the model the agent was given; None: its default")
    cache_read_tokens: int | None = Field(default=None, description="part of input_tokens")
    cache_write_tokens: int | None = Field(default=None, description="part of input_tokens")
    reasoning_tokens: int | None = Field(default=None, description="part of output_tokens")
    trace_id: str | None
    updated_at: datetime

    @classmethod
    def of(cls, row: RunRow) -> RunPublic:
        return cls.model_validate(row, from_attributes=True)


class RunStep(BaseModel):
    type: str
    occurred_at: datetime
    summary: str

    @classmethod
    def of(cls, row: RunEventRow) -> RunStep:
        return cls.model_validate(row, from_attributes=True)


class OutputLine(BaseModel):
    id: int = Field(description="cursor: pass as `after` to get only later lines")
    attempt: int
    step: str
    stream: str
    text: str
    occurred_at: datetime

    @classmethod
    def of(cls, row: RunOutputRow) -> OutputLine:
        return cls.model_validate(row, from_attributes=True)


class RunLinks(BaseModel):
    temporal: str = Field(description="the workflow in the Temporal Web UI")
    trace: str | None = Field(description="the run's trace in the tracing UI, when one is configured")
    pull_request: str | None


class RunDetail(RunPublic):
    branch: str | None
    head_sha: str | None
    iteration_summaries: list[IterationSummary] = Field(
        default_factory=list,
        description="each fix-forward iteration: diff stats against the base and check outcomes; a check's "
        "output_tail is text the agent's sandbox wrote",
    )
    steps: list[RunStep]
    output_tail: list[OutputLine]
    links: RunLinks


class RunList(BaseModel):
    runs: list[RunPublic]
    count: int


class CostPublic(BaseModel):
    project: str
    day: date
    runs: int
    cost_usd: float
    input_tokens: int
    output_tokens: int


class CostList(BaseModel):
    costs: list[CostPublic]
