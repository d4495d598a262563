"""Tables of the read models (schema `gateway`). Only the projector writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

SCHEMA = {"schema": "gateway"}


class RunRow(SQLModel, table=True):
    """One agent run (a Temporal execution of AgentExecutionWorkflow), as its events describe it."""

    __tablename__ = "runs"
    __table_args__ = SCHEMA

    run_id: str = Field(primary_key=True)
    workflow_id: str
    project: str | None = None
    repo: str
    issue_number: int
    agent: str | None = None
    prompt_version: str | None = None
    status: str  # running, or a RunOutcome value once finished
    detail: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    iterations: int = 0
    pull_request_number: int | None = None
    pull_request_url: str | None = None
    branch: str | None = None
    head_sha: str | None = None
    input_tokens: int | None = Field(default=None, sa_type=BigInteger)
    output_tokens: int | None = Field(default=None, sa_type=BigInteger)
    cost_usd: float | None = None
    model: str | None = None
    # Parts of input_tokens (cache) and output_tokens (reasoning), when the proxy metered them.
    cache_read_tokens: int | None = Field(default=None, sa_type=BigInteger)
    cache_write_tokens: int | None = Field(default=None, sa_type=BigInteger)
    reasoning_tokens: int | None = Field(default=None, sa_type=BigInteger)
    # paid_contracts.IterationSummary documents, in order; holds text the agent's checks printed.
    iteration_summaries: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    )
    trace_id: str | None = None
    updated_at: datetime


class RunEventRow(SQLModel, table=True):
    """Every run event applied, once: the idempotency record and the run's timeline of steps."""

    __tablename__ = "run_events"
    __table_args__ = SCHEMA

    event_id: str = Field(primary_key=True)
    run_id: str
    type: str
    occurred_at: datetime
    summary: str = ""


class RunOutputRow(SQLModel, table=True):
    """One line of the agent's output."""

    __tablename__ = "run_output"
    __table_args__ = SCHEMA

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    run_id: str
    attempt: int
    sequence: int
    position: int
    stream: str
    step: str
    text: str
    occurred_at: datetime
