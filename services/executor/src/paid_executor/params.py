"""Typed inputs and outputs of the workflow and its activities: one object each, grown additively."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from paid_contracts import CheckOutcome, IssueRef, IterationSummary, PinnedText, RunOutcome
from paid_contracts.iterations import CHECK_OUTPUT_TAIL_CHARS
from paid_executor.agents.base import AgentResult
from paid_executor.prompts import PROMPT_VERSION
from paid_executor.repo_config import RepoConfig
from paid_llm import Usage


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
    heartbeat_timeout_seconds: float = 20
    # Added with the fix-forward loop; the defaults keep older histories' inputs meaning the same.
    sandbox: str = "bwrap"  # never unsandboxed by default; `none` (or its old name `local`) is explicit
    max_iterations: int | None = None  # overrides the repository's .paid.yml when set
    time_limit_seconds: float | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    # Added with prompts from evolution's registry: the template of `prompt_version`, resolved when the
    # run was requested (None: the built-in template of that version).
    prompt_template: str | None = None
    # Added with per-worker task queues: how long an activity bound to the worktree's worker may wait
    # to be picked up before the workflow takes that worker for lost and moves the run elsewhere.
    home_start_timeout_seconds: float = 30
    # Added with pinned trigger text: the issue's title and body when the label was applied (None for
    # older triggers and planned tasks: the live issue is read, as before).
    pinned: PinnedText | None = None
    # Added with the trigger's agent choice: what a trusted user's `/paid build agent=... model=...`
    # named (agents/choice.py), above .paid.yml and the project's setting.
    trigger_agent: str | None = None
    trigger_model: str | None = None
    # Added with agents as experiment arms: the arm evolution assigned the run when it was requested,
    # and the arm's agent and model (agents/choice.py: above .paid.yml, below the trigger).
    experiment_id: str | None = None
    experiment_arm: str | None = None
    experiment_agent: str | None = None
    experiment_model: str | None = None
    # Added with the project's agent: what the project's setting (the gateway's API) named when the run
    # was requested (project_agents.py); None: the executor's own `agent` and PAID_EXECUTOR_AGENT_MODEL.
    project_agent: str | None = None
    project_model: str | None = None


class RunContext(_Params):
    """Identifies one run to every activity."""

    run_id: str
    workflow_id: str
    issue: IssueRef
    agent: str
    prompt_version: str
    started_at: datetime
    prompt_template: str | None = None
    pinned: PinnedText | None = None  # see ExecutionInput.pinned; the run stops when the issue moves
    trigger_label: str | None = None
    trigger_agent: str | None = None  # see ExecutionInput.trigger_agent
    trigger_model: str | None = None
    experiment_id: str | None = None  # see ExecutionInput.experiment_id
    experiment_arm: str | None = None
    experiment_agent: str | None = None
    experiment_model: str | None = None
    project_agent: str | None = None  # see ExecutionInput.project_agent
    project_model: str | None = None


class IssueDetails(_Params):
    title: str
    body: str | None
    html_url: str
    state: str
    default_branch: str
    clone_url: str
    # The default branch's commit as GitHub reported it beside the issue: when the host's mirror
    # already holds it, the worktree is made without a fetch (repository_cache.py).
    base_sha: str | None = None


class PromptInput(_Params):
    run: RunContext
    issue: IssueDetails
    branch: str


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
    draft: bool = False
    iterations: int = 1


class PullRequestInfo(_Params):
    number: int
    url: str
    branch: str
    head_sha: str
    created: bool


class CheckResult(_Params):
    command: str
    exit_code: int
    output: str  # the tail, enough to see why it failed

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


class WorkspaceInput(_Params):
    run: RunContext
    issue: IssueDetails
    branch: str


class WorkspaceInfo(_Params):
    base_sha: str
    config: RepoConfig | None = None
    config_error: str | None = None
    experiment_used: bool = False  # the run uses its experiment arm's agent and model (agents/choice.py)
    # The task queue of the one worker process that holds the worktree (its "home"); None from a
    # worker older than per-worker queues, whose later activities then use the shared queue.
    task_queue: str | None = None


class IterationInput(_Params):
    run: RunContext
    issue: IssueDetails
    branch: str
    base_sha: str
    iteration: int
    prompt: str
    feedback: str | None = None  # the previous iteration's failures, only
    instructions: tuple[str, ...] = ()
    config: RepoConfig
    sandbox: str
    timeout_seconds: float
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    spent_tokens: int = 0
    spent_cost_usd: float = 0.0
    rehomes: int = 0  # how many times the run moved to a fresh worktree on another worker


class IterationOutput(_Params):
    iteration: int
    result: AgentResult
    last_output: str
    checks: tuple[CheckResult, ...] = ()
    changed_files: tuple[str, ...] = ()
    changed_lines: int = 0
    insertions: int = 0  # changed_lines split; 0 in histories recorded before they were counted
    deletions: int = 0
    forbidden: tuple[str, ...] = ()
    diff_hash: str = ""
    output_hash: str = ""
    budget_exceeded: str | None = None  # why, when the metering proxy refused a call
    tokens: int = 0  # metered by the proxy, else reported by the agent
    cost_usd: float = 0.0
    usage: Usage | None = None  # every token kind, when the proxy metered the iteration's calls
    commit: str = ""  # the worktree as its checks left it, imported into the host's repository

    def summary(self) -> IterationSummary:
        return IterationSummary(
            number=self.iteration,
            files_changed=len(self.changed_files),
            insertions=self.insertions,
            deletions=self.deletions,
            checks=tuple(
                CheckOutcome(
                    command=check.command,
                    exit_code=check.exit_code,
                    passed=check.passed,
                    output_tail=check.output[-CHECK_OUTPUT_TAIL_CHARS:],
                )
                for check in self.checks
            ),
            tokens=max(self.tokens, 0),
            cost_usd=max(self.cost_usd, 0.0),
            budget_exceeded=self.budget_exceeded is not None,
        )

    @property
    def failed_checks(self) -> tuple[CheckResult, ...]:
        return tuple(check for check in self.checks if not check.passed)


class PublishInput(_Params):
    run: RunContext
    issue: IssueDetails
    branch: str
    base_sha: str
    summary: str
    result: AgentResult
    last_output: str
    checked_commit: str = ""  # the last iteration's import (worktree_import.recommit); "": import again


class RunStatus(_Params):
    """What the `status` query answers: where the run is and what it has spent."""

    step: str
    iteration: int
    max_iterations: int | None
    paused: bool
    cancel_requested: bool
    tokens: int
    cost_usd: float
    last_output: str
    pending_instructions: int
    # Added with fair admission: while the step is "queued", the run's place (1: next to start) and why.
    queue_position: int | None = None
    queue_reason: str | None = None


class RunReport(_Params):
    """How the run ended: for the issue comment, RunFinished and the runs table."""

    run: RunContext
    outcome: RunOutcome
    detail: str
    duration_seconds: float
    iterations: int = 0
    pull_request: PullRequestInfo | None = None
    change: AgentRunOutput | None = None
    final: bool = True  # False for the progress comment updated while the run goes on
    last_failure: str | None = None  # the failing checks' output, shown in the comment
    tokens: int | None = None
    cost_usd: float | None = None
    # The agent and model the run used, as chosen (agents/choice.py); None: the run's agent, model unknown.
    agent: str | None = None
    model: str | None = None
    usage: Usage | None = None  # every token kind the proxy metered over the run's iterations
    iteration_summaries: tuple[IterationSummary, ...] = ()
    experiment_used: bool = False  # RunFinished names the run's experiment arm (agents/choice.py)


class ExecutionResult(_Params):
    run_id: str
    outcome: RunOutcome
    detail: str
    pull_request_url: str | None = None
    pull_request_number: int | None = None
