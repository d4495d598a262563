"""Prompts as versioned data: the `paid.prompt.resolve` request-reply contract and evolution's events.

A service about to render a prompt asks evolution which version to use for a run key; evolution
answers with the template (the active version, or an experiment arm chosen by hashing the run key).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from paid_contracts import subjects
from paid_contracts.envelope import Event


class PromptCategory(StrEnum):
    PLANNING = "planning"
    CODING = "coding"
    REVIEW = "review"
    FIX_CI = "fix-ci"
    MUTATION = "mutation"


class PromptResolveRequest(BaseModel):
    """Sent on `paid.prompt.resolve`; the reply is a `PromptResolveReply`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    SUBJECT: ClassVar[str] = subjects.PROMPT_RESOLVE
    schema_version: int = 1
    category: PromptCategory
    project: str = Field(min_length=1, description="the project's key: the repository's owner/name")
    run_key: str = Field(
        min_length=1,
        description="stable identity of the run (e.g. the workflow id): the same key gets the same arm",
    )


class PromptResolveReply(BaseModel):
    """The prompt a run must use. `error` set means evolution could not answer: use the fallback."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    version: str = Field(default="", description="`<category>@<n>`, recorded by the run (prompt_version)")
    category: PromptCategory | None = None
    template: str = ""
    variables: tuple[str, ...] = Field(default=(), description="the variables the template declares")
    content_hash: str = ""
    experiment_id: str | None = None
    arm: str | None = Field(default=None, description="`control` or `candidate-<n>` inside the experiment")
    error: str | None = None
    # Added with agents as arms: the arm's agent and model, for the run to use above `.paid.yml` and the
    # project's setting (never above a trusted trigger, never past the project's allowed agents).
    agent: str | None = Field(default=None, description="the arm's agent; None: the run's own choice")
    model: str | None = Field(default=None, description="the arm's model; None: the run's own choice")


class PromptPromoted(Event):
    """A version became the active prompt of a category for a project (or was rolled back to)."""

    SUBJECT: ClassVar[str] = subjects.EVOLUTION_PROMPT_PROMOTED
    type: Literal["paid.evolution.prompt_promoted"] = "paid.evolution.prompt_promoted"
    category: PromptCategory
    project: str
    version: str
    previous_version: str | None = None
    experiment_id: str | None = None
    reason: str = Field(description="`experiment`, `approval`, `rollback` or `manual`")
    agent: str | None = Field(default=None, description="promoted with the version; None: the run's own")
    model: str | None = Field(default=None, description="promoted with the version; None: the run's own")


class ArmSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    arm: str
    version: str
    samples: int = Field(ge=0)
    mean_score: float | None = None
    agent: str | None = Field(default=None, description="the arm's agent, when the arm is one")
    model: str | None = Field(default=None, description="the arm's model, when the arm is one")


class ExperimentConcluded(Event):
    """An A/B test of prompt versions ended: a winner, or none (discarded, inconclusive, rejected)."""

    SUBJECT: ClassVar[str] = subjects.EVOLUTION_EXPERIMENT_CONCLUDED
    type: Literal["paid.evolution.experiment_concluded"] = "paid.evolution.experiment_concluded"
    experiment_id: str
    category: PromptCategory
    project: str
    control_version: str
    winner_version: str | None = None
    decision: str = Field(description="`promoted`, `awaiting_approval`, `discarded`, `inconclusive`, ...")
    arms: tuple[ArmSummary, ...] = ()
    winner_arm: str | None = Field(
        default=None,
        description="the arm that won, one of `arms` (agent and model arms may share the control's version)",
    )


EVENTS: tuple[type[Event], ...] = (PromptPromoted, ExperimentConcluded)
