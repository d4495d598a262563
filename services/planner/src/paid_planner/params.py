"""Inputs and results of the planner's workflow and activities: one pydantic model each."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from paid_contracts import IssueRef, PinnedText, PromptCategory, RunOutcome
from paid_planner.plan_schema import PlanDraft, TaskDraft
from paid_prompt_client import DEFAULT_PROMPTS

BUNDLED_PLANNING = DEFAULT_PROMPTS[PromptCategory.PLANNING].version


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True)


class PlanStatus(StrEnum):
    REQUESTED = "requested"
    NEEDS_INPUT = "needs_input"
    PLANNED = "planned"
    COMPLETED = "completed"
    FAILED = "failed"
    UNANSWERED = "unanswered"


class TaskStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    BUILT = "built"
    """Auto mode: its run opened a pull request (not merged yet)."""
    FAILED = "failed"
    """Auto mode: its run ended without a pull request."""
    DONE = "done"


class PlanningInput(_Params):
    issue: IssueRef
    label: str
    actor: str
    request_event_id: str
    needs_input_label: str = "paid-needs-input"
    answer_timeout_days: float = 14.0
    max_question_rounds: int = 3
    # Added with pinned trigger text: the issue as labeled (None for older requests: read live).
    pinned: PinnedText | None = None
    prompt_version: str = BUNDLED_PLANNING
    """From evolution's registry when the plan was requested; older histories lack it and used this one."""
    prompt_template: str | None = None
    """The resolved version's text; None means the bundled text of `prompt_version`."""
    auto: bool = False
    """Requested with the auto label: a task is released once the tasks it depends on have pull requests."""


class PlanStatusUpdate(_Params):
    plan_id: str
    issue: IssueRef
    status: PlanStatus


class IssueDetails(_Params):
    title: str
    state: str
    html_url: str
    body: str = ""


class RepositoryContext(_Params):
    """What the model sees: the issue, the file tree and the files that say how to contribute."""

    issue: IssueDetails
    default_branch: str
    tree: tuple[str, ...]
    tree_truncated: bool
    files: dict[str, str]


class Answer(_Params):
    """A reply to the planner's questions: a trusted comment, or the label applied again."""

    author: str
    body: str = ""
    comment_id: int | None = None
    trusted: bool = True
    pinned: PinnedText | None = None  # the label applied again: the issue's text at that moment
    auto: bool = False  # the auto label applied (by a trusted labeler): the plan goes on in auto mode


class PinnedContextInput(_Params):
    issue: IssueRef
    pinned: PinnedText
    label: str


class TaskMerged(_Params):
    issue_number: int
    pull_request: int


class TaskBuilt(_Params):
    """A run on a task's sub-issue ended: with a pull request (`pull_request`), or without one."""

    issue_number: int
    run_id: str
    outcome: RunOutcome
    pull_request: int | None = None

    @property
    def opened_pull_request(self) -> bool:
        return self.pull_request is not None and self.outcome is RunOutcome.SUCCEEDED


class DraftInput(_Params):
    plan_id: str
    issue: IssueRef
    context: RepositoryContext
    answers: tuple[Answer, ...] = ()
    prompt_version: str
    prompt_template: str | None = None


class DraftOutcome(_Params):
    """A validated plan, or why there is none (`failure`, to be posted on the issue)."""

    plan: PlanDraft | None = None
    failure: str | None = None
    model: str
    repaired: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None


class CommentInput(_Params):
    """One comment per `key` and plan: posted once, then edited in place."""

    plan_id: str
    issue: IssueRef
    key: str
    body: str


class CommentResult(_Params):
    url: str
    created: bool


class LabelChange(_Params):
    issue: IssueRef
    label: str
    present: bool


class SubIssueInput(_Params):
    plan_id: str
    parent: IssueRef
    task: TaskDraft
    position: int
    dependency_numbers: tuple[int, ...] = ()


class SubIssue(_Params):
    task_id: str
    number: int
    url: str
    created: bool


class StoredTask(_Params):
    task_id: str
    position: int
    title: str
    issue_number: int
    depends_on: tuple[str, ...] = ()


class StorePlanInput(_Params):
    plan_id: str
    issue: IssueRef
    summary: str
    prompt_version: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    tasks: tuple[StoredTask, ...]


class TaskStatusUpdate(_Params):
    plan_id: str
    task_id: str
    status: TaskStatus
    pull_request: int | None = None


class PlanningResult(_Params):
    plan_id: str
    status: PlanStatus
    issue_title: str
    comment_url: str = ""
    detail: str = ""
    tasks: tuple[SubIssue, ...] = Field(default=())
    question_rounds: int = 0
