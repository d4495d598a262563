"""Typed inputs and outputs of the workflow and its activities: one object each, grown additively."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from paid_contracts import IssueRef, RunOutcome
from paid_executor.agents.base import AgentResult
from paid_executor.prompts import PROMPT_VERSION


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True)


class ExecutionInput(_Params):
    """Why and on what the agent runs: the request that started the workflow."""

    issue: IssueRef
    source: str  # webhook | poll | command | plan
    source_id: str
    request_event_id: str | None = None
    label: str | None = None
    actor: str | None = None
    plan_id: str | None = None
    task_id: str | None = None
    agent: str = "demo"
    prompt_version: str = PROMPT_VERSION
    agent_timeout_seconds: float = 30 * 60
    heartbeat_timeout_seconds: float = 5


class RunContext(_Params):
    """Identifies one run to every activity."""

    run_id: str
    workflow_id: str
    issue: IssueRef
    agent: str
    prompt_version: str
    started_at: datetime


class IssueDetails(_Params):
    title: str
    body: str | None
    html_url: str
    state: str
    default_branch: str
    clone_url: str


class PromptInput(_Params):
    run: RunContext
    issue: IssueDetails
    branch: str


class AgentRunInput(_Params):
    run: RunContext
    issue: IssueDetails
    prompt: str
    branch: str
    timeout_seconds: float


class AgentRunOutput(_Params):
    branch: str
    base_sha: str
    head_sha: str
    changed_files: int
    result: AgentResult
    last_output: str


class PullRequestInput(_Params):
    run: RunContext
    issue: IssueDetails
    change: AgentRunOutput


class PullRequestInfo(_Params):
    number: int
    url: str
    branch: str
    head_sha: str
    created: bool


class RunReport(_Params):
    """How the run ended: for the issue comment, RunFinished and the runs table."""

    run: RunContext
    outcome: RunOutcome
    detail: str
    duration_seconds: float
    iterations: int = 0
    pull_request: PullRequestInfo | None = None
    change: AgentRunOutput | None = None


class ExecutionResult(_Params):
    run_id: str
    outcome: RunOutcome
    detail: str
    pull_request_url: str | None = None
    pull_request_number: int | None = None
