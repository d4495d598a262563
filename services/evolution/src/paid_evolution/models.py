"""Evolution's own tables (schema `evolution`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class RunRecord(SQLModel, table=True):
    """One finished run as evolution sees it: the raw material for scoring prompts."""

    __tablename__ = "run_records"
    __table_args__ = {"schema": "evolution"}

    run_id: str = Field(primary_key=True)
    workflow_id: str
    repo: str = Field(index=True)
    issue: int
    agent: str
    prompt_version: str = Field(index=True)
    outcome: str
    started_at: datetime
    duration_seconds: float
    iterations: int
    pull_request_url: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    trace_id: str | None = None
    recorded_at: datetime
