"""Evolution's own tables (schema `evolution`): runs and their scores, prompts, experiments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel

SCHEMA = {"schema": "evolution"}
ALL_PROJECTS = "*"  # the project key of the default active prompt


class RunRecord(SQLModel, table=True):
    """One finished run as evolution sees it, and its quality score (updated by late outcomes)."""

    __tablename__ = "run_records"
    __table_args__ = SCHEMA

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
    category: str | None = None
    project: str | None = None
    detail: str = ""
    pull_request_number: int | None = None
    pull_request_state: str | None = None  # open, merged, closed
    experiment_id: str | None = None
    arm: str | None = None
    score: float | None = None  # None: the run says nothing about its prompt (cancelled)
    scored_at: datetime | None = None


class Vote(SQLModel, table=True):
    """A human's reaction on an issue/PR Paid worked on (or one of its comments), one row per reaction;
    a run counts the votes on its issue and its pull request."""

    __tablename__ = "votes"
    __table_args__ = SCHEMA

    reaction_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    repo: str
    number: int
    actor: str
    value: int  # +1 or -1
    at: datetime


class PullRequestState(SQLModel, table=True):
    """How a pull request ended, kept even when it ends before evolution heard of its run."""

    __tablename__ = "pull_request_states"
    __table_args__ = SCHEMA

    repo: str = Field(primary_key=True)
    number: int = Field(primary_key=True)
    state: str  # merged, closed
    at: datetime


class PromptVersion(SQLModel, table=True):
    """An immutable template (the database refuses changes to its content); only `status` moves."""

    __tablename__ = "prompt_versions"
    __table_args__ = SCHEMA

    id: str = Field(primary_key=True)  # <category>@<number>
    category: str
    number: int
    template: str
    variables: list[str] = Field(sa_column=Column(JSON, nullable=False))
    content_hash: str
    parent_id: str | None = None
    reason: str = ""
    status: str = "candidate"  # candidate, active, retired
    created_at: datetime


class ActivePrompt(SQLModel, table=True):
    __tablename__ = "active_prompts"
    __table_args__ = SCHEMA

    category: str = Field(primary_key=True)
    project: str = Field(primary_key=True)  # ALL_PROJECTS for the default
    version_id: str
    since: datetime
    # The agent and model promoted with the version (an experiment's winning arm); None: the run's own.
    agent: str | None = None
    model: str | None = None


class Promotion(SQLModel, table=True):
    """History of the active pointer: what rollback walks back."""

    __tablename__ = "promotions"
    __table_args__ = SCHEMA

    id: int | None = Field(default=None, primary_key=True)
    category: str
    project: str
    version_id: str
    previous_version_id: str | None = None
    experiment_id: str | None = None
    reason: str
    at: datetime
    agent: str | None = None
    model: str | None = None
    previous_agent: str | None = None
    previous_model: str | None = None


class ProjectPolicy(SQLModel, table=True):
    __tablename__ = "project_policies"
    __table_args__ = SCHEMA

    project: str = Field(primary_key=True)
    require_approval: bool = False


class Experiment(SQLModel, table=True):
    __tablename__ = "experiments"
    __table_args__ = SCHEMA

    id: str = Field(primary_key=True)
    category: str
    project: str
    control_version: str
    status: str = "running"  # running, awaiting_approval, concluded
    decision: str | None = None
    winner_version: str | None = None
    # The arm that won: agent and model arms may share their prompt version with the control.
    winner_arm: str | None = None
    alpha: float
    min_samples_per_arm: int
    started_at: datetime
    concluded_at: datetime | None = None
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ExperimentArm(SQLModel, table=True):
    __tablename__ = "experiment_arms"
    __table_args__ = SCHEMA

    experiment_id: str = Field(primary_key=True)
    arm: str = Field(primary_key=True)  # control, candidate-1, ...
    version_id: str
    weight: float  # share of traffic, renormalised over the arms still open
    agent: str | None = None  # the arm's agent and model; None: the run's own choice
    model: str | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None


class FollowUpRecord(SQLModel, table=True):
    """A pull request's follow-up rounds, as its conversation summed them up when it ended (once per
    pull request: a redelivered summary changes nothing)."""

    __tablename__ = "follow_ups"
    __table_args__ = SCHEMA

    repo: str = Field(primary_key=True)
    number: int = Field(primary_key=True)
    event_id: str
    rounds: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    rounds_without_push: int
    ci_stopped: bool
    at: datetime
