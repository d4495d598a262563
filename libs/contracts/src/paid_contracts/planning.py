"""The planner's results: a plan made of ordered tasks (sub-issues), and its completion."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from paid_contracts import subjects
from paid_contracts.envelope import Event
from paid_contracts.github import IssueRef


class PlannedTask(BaseModel):
    model_config = ConfigDict(frozen=True)

    task_id: str
    title: str
    issue_number: int = Field(gt=0, description="the sub-issue that carries the task")
    depends_on: tuple[str, ...] = Field(default=(), description="task ids that must be merged first")


class PlanCreated(Event):
    """A plan was posted and its sub-issues created; which prompt version and model made it, at what cost."""

    SUBJECT: ClassVar[str] = subjects.PLAN_CREATED
    type: Literal["paid.plan.created"] = "paid.plan.created"
    plan_id: str
    issue: IssueRef = Field(description="the parent issue that was planned")
    summary: str
    tasks: tuple[PlannedTask, ...]
    prompt_version: str = Field(description="e.g. planning@1")
    model: str
    question_rounds: int = Field(ge=0, description="how often Paid asked questions before planning")
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cost_usd: float | None = None


class PlanCompleted(Event):
    """Every task of the plan was merged."""

    SUBJECT: ClassVar[str] = subjects.PLAN_COMPLETED
    type: Literal["paid.plan.completed"] = "paid.plan.completed"
    plan_id: str
    issue: IssueRef
    tasks: int = Field(ge=0)


class PlanNeedsInput(Event):
    """The planner found the issue unclear, posted its questions and waits for a trusted answer.

    The questions are the model's words about untrusted issue text: a consumer shows them as text only."""

    SUBJECT: ClassVar[str] = subjects.PLAN_NEEDS_INPUT
    type: Literal["paid.plan.needs_input"] = "paid.plan.needs_input"
    plan_id: str
    issue: IssueRef
    round: int = Field(ge=1, description="1 for the first questions, 2 after one answer, ...")
    questions: tuple[str, ...] = Field(description="as posted (at most 20, each cut to 1,000 characters)")
    comment_url: str | None = Field(default=None, description="the comment that asks them")
    label: str = Field(description="the label that marks the issue while it waits, e.g. paid-needs-input")


EVENTS: tuple[type[Event], ...] = (PlanCreated, PlanCompleted, PlanNeedsInput)
