"""Typed inputs and results of evolution's workflows and activities (one object each, to grow compatibly)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from paid_contracts import PromptCategory
from paid_evolution.arms import ArmChoice
from paid_evolution.decisions import ExperimentSettings, Verdict


class ArmSpec(BaseModel):
    """One arm a person asks for: a prompt version (None: the active one), an agent, a model, or a
    combination (None: the run's own choice)."""

    model_config = ConfigDict(extra="forbid")

    version_id: str | None = None
    agent: str | None = None
    model: str | None = None


class Comparison(BaseModel):
    """A comparison a person started (API, CLI): these arms against the control, at once, without
    judging or mutating the active prompt first. The experiment's id is fixed by whoever started it."""

    model_config = ConfigDict(extra="forbid")

    experiment_id: str
    control: ArmSpec = ArmSpec()
    candidates: list[ArmSpec] = Field(min_length=1, max_length=4)

    def choices(self) -> tuple[ArmChoice, list[ArmChoice]]:
        """The control and the candidates as an experiment takes them."""
        control = ArmChoice(**self.control.model_dump())
        return control, [ArmChoice(**arm.model_dump()) for arm in self.candidates]


class EvolutionInput(BaseModel):
    category: PromptCategory
    project: str
    # Set: a person's comparison of arms; None (every evolution before comparisons): judge and mutate.
    comparison: Comparison | None = None
    threshold: float = Field(
        default=0.6, ge=0, le=1, description="evolve when the active mean score is below"
    )
    min_samples: int = Field(
        default=20, ge=1, description="recent scored runs needed to judge the active prompt"
    )
    lookback_days: float = Field(default=30.0, gt=0)
    mutations: int = Field(default=2, ge=1, le=8, description="k candidates generated per experiment")
    approval_timeout_days: float = Field(default=14.0, gt=0)
    experiment: ExperimentSettings = ExperimentSettings()


class EvolutionResult(BaseModel):
    outcome: str  # healthy, too_few_samples, experiment_open, no_mutations, promoted, discarded, ...
    active_version: str
    mean_score: float | None = None
    samples: int = 0
    experiment_id: str | None = None
    candidates: list[str] = []
    winner_version: str | None = None
    elapsed_days: float = 0.0


class AssessInput(BaseModel):
    category: PromptCategory
    project: str
    lookback_days: float
    feedback_limit: int = 12


class Assessment(BaseModel):
    active_version: str
    template: str
    variables: list[str]
    samples: int
    mean_score: float | None
    feedback: list[str]
    experiment_open: bool


class MutationInput(BaseModel):
    category: PromptCategory
    parent_version: str
    template: str
    variables: list[str]
    feedback: list[str]
    count: int
    mutation_template: str | None = Field(
        default=None, description="the registry's active mutation prompt, filled in by the activity"
    )


class RegisterInput(BaseModel):
    category: PromptCategory
    parent_version: str
    templates: list[str]
    variables: list[str]
    reason: str


class StartInput(BaseModel):
    experiment_id: str
    category: PromptCategory
    project: str
    candidates: list[str]
    settings: ExperimentSettings


class ComparisonStartInput(BaseModel):
    category: PromptCategory
    project: str
    comparison: Comparison
    settings: ExperimentSettings


class StartedComparison(BaseModel):
    experiment_id: str
    control_version: str


class EvaluateInput(BaseModel):
    experiment_id: str
    out_of_time: bool


class EvaluationResult(BaseModel):
    verdict: Verdict
    winner_version: str | None
    stopped_arms: list[str]
    winner_arm: str | None = None  # added with agent and model arms, which may share a version


class ConcludeInput(BaseModel):
    experiment_id: str
    verdict: Verdict
    winner_version: str | None
    winner_arm: str | None = None  # added with agent and model arms (None from older histories)


class ApproveInput(BaseModel):
    experiment_id: str
    approved: bool


class SweepInput(BaseModel):
    lookback_days: float = 30.0
    evolution: EvolutionInput | None = Field(
        default=None, description="defaults for every target (category/project overridden)"
    )


class Target(BaseModel):
    category: PromptCategory
    project: str
