"""The first events of the pipeline: work requested -> task ready -> run started -> PR -> run finished."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from paid_contracts import subjects
from paid_contracts.envelope import Event
from paid_contracts.github import IssueRef
from paid_contracts.iterations import IterationSummary
from paid_contracts.pinned import PinnedText


class TriggerSource(StrEnum):
    WEBHOOK = "webhook"
    POLL = "poll"
    COMMAND = "command"


class WorkRequested(Event):
    """Someone asked Paid for work on an issue by applying one of its labels."""

    issue: IssueRef
    label: str
    actor: str = Field(description="GitHub login of whoever applied the label")
    source: TriggerSource
    source_id: str = Field(description="GitHub delivery id (webhook) or the event's identity (poll)")
    pinned: PinnedText | None = Field(
        default=None,
        description="the issue's title and body when the label was applied (absent from older events)",
    )


class BuildRequested(WorkRequested):
    SUBJECT: ClassVar[str] = subjects.GITHUB_BUILD_REQUESTED
    type: Literal["paid.github.build_requested"] = "paid.github.build_requested"
    agent: str | None = Field(
        default=None,
        description="the agent a `paid-agent:<agent>` label names, as written (unchecked: the executor "
        "holds it to the project's allowed agents); absent for the build label",
    )


class PlanRequested(WorkRequested):
    SUBJECT: ClassVar[str] = subjects.GITHUB_PLAN_REQUESTED
    type: Literal["paid.github.plan_requested"] = "paid.github.plan_requested"
    auto: bool = Field(
        default=False,
        description="the auto label: each task is released as the tasks it depends on have their pull "
        "requests opened, with no human step between tasks (absent from older events: a plain plan)",
    )


class TaskReady(Event):
    """A planned task whose dependencies are done and which may now be executed."""

    SUBJECT: ClassVar[str] = subjects.PLAN_TASK_READY
    type: Literal["paid.plan.task_ready"] = "paid.plan.task_ready"
    plan_id: str
    task_id: str
    parent: IssueRef
    issue: IssueRef = Field(description="the sub-issue that carries the task")
    title: str
    depends_on: tuple[str, ...] = ()


class RunOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    TESTS_FAILING = "tests_failing"
    ITERATION_LIMIT = "iteration_limit"
    BUDGET_EXCEEDED = "budget_exceeded"
    NO_CHANGES = "no_changes"
    CANCELLED = "cancelled"
    ERROR = "error"


class RunStarted(Event):
    SUBJECT: ClassVar[str] = subjects.RUN_STARTED
    type: Literal["paid.run.started"] = "paid.run.started"
    run_id: str
    workflow_id: str
    issue: IssueRef
    agent: str
    prompt_version: str


class PullRequestOpened(Event):
    SUBJECT: ClassVar[str] = subjects.RUN_PULL_REQUEST_OPENED
    type: Literal["paid.run.pull_request_opened"] = "paid.run.pull_request_opened"
    run_id: str
    issue: IssueRef
    number: int
    url: str
    branch: str
    head_sha: str


class RunFinished(Event):
    SUBJECT: ClassVar[str] = subjects.RUN_FINISHED
    type: Literal["paid.run.finished"] = "paid.run.finished"
    run_id: str
    workflow_id: str
    issue: IssueRef
    agent: str = Field(description="the agent the run used: the project's, or the one .paid.yml chose")
    prompt_version: str
    outcome: RunOutcome
    started_at: str = Field(description="ISO-8601 time the run started")
    duration_seconds: float = Field(ge=0)
    iterations: int = Field(ge=0)
    pull_request_url: str | None = None
    pull_request_number: int | None = None
    detail: str = Field(default="", description="why the run ended this way, in a sentence")
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    model: str | None = Field(default=None, description="the model the agent was given; None: its default")
    # Metered by the proxy; parts of input_tokens (cache) and of output_tokens (reasoning).
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    iteration_summaries: tuple[IterationSummary, ...] = Field(
        default=(), description="each fix-forward iteration in order; empty from older executors"
    )
    # The experiment arm the run used, named by the executor only when the run really used it (an arm's
    # agent the project does not allow, or a trusted trigger's choice above it, leaves these None).
    experiment_id: str | None = None
    arm: str | None = None


EVENTS: tuple[type[Event], ...] = (
    BuildRequested,
    PlanRequested,
    TaskReady,
    RunStarted,
    PullRequestOpened,
    RunFinished,
)
