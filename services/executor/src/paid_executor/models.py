"""The executor's own tables (schema `executor`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Run(SQLModel, table=True):
    """One execution of an agent on an issue, keyed by the Temporal run id."""

    __tablename__ = "runs"
    __table_args__ = {"schema": "executor"}

    run_id: str = Field(primary_key=True)
    workflow_id: str = Field(index=True)
    repo: str = Field(index=True)
    issue: int
    agent: str
    prompt_version: str
    status: str = Field(description="running, or the RunOutcome it ended with")
    branch: str | None = None
    head_sha: str | None = None
    pull_request_url: str | None = None
    pull_request_number: int | None = None
    detail: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    started_at: datetime
    finished_at: datetime | None = None
    updated_at: datetime
