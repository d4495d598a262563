"""A run's quality score in [0, 1] from its real outcomes; the weights are data (scoring_weights.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_WEIGHTS_FILE = Path(__file__).with_name("scoring_weights.yaml")


class ComponentWeights(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: float = Field(ge=0)
    pull_request: float = Field(ge=0)
    votes: float = Field(ge=0)
    efficiency: float = Field(ge=0)
    follow_up: float = Field(default=0, ge=0)


class Efficiency(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    iterations_budget: int = Field(gt=0, description="iterations beyond the first that cost all the credit")
    cost_budget_usd: float = Field(gt=0, description="cost that costs all the credit")


class FollowUp(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rounds_budget: int = Field(gt=0, description="follow-up rounds that cost all the rounds credit")
    merge_hours_budget: float = Field(
        gt=0, description="hours from the run's end to the merge that cost all the speed credit"
    )


class ScoreWeights(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weights: ComponentWeights
    outcome: dict[str, float | None] = Field(description="value per run outcome; null: not scored")
    pull_request: dict[str, float] = Field(description="value per PR state: merged, closed, open, none")
    efficiency: Efficiency
    follow_up: FollowUp = FollowUp(rounds_budget=3, merge_hours_budget=72)

    @model_validator(mode="after")
    def _values_in_unit_interval(self) -> ScoreWeights:
        values = [v for v in self.outcome.values() if v is not None] + list(self.pull_request.values())
        if any(not 0 <= v <= 1 for v in values):
            raise ValueError("every outcome and pull_request value must lie in [0, 1]")
        missing = {"merged", "closed", "open", "none"} - set(self.pull_request)
        if missing:
            raise ValueError(f"pull_request values missing for {sorted(missing)}")
        return self


def load_weights(path: Path = DEFAULT_WEIGHTS_FILE) -> ScoreWeights:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not YAML: {error}") from None
    return ScoreWeights.model_validate(data)


@dataclass(frozen=True)
class RunFacts:
    outcome: str
    pull_request_state: str | None  # None: the run opened no pull request
    votes_up: int
    votes_down: int
    iterations: int
    cost_usd: float | None
    # From the pull request's conversation (paid.run.follow_up_finished); None: none was heard, and the
    # run scores as it did before follow-ups were scored.
    follow_up_rounds: int | None = None
    ci_stopped: bool = False  # its CI rounds stopped on the same failure twice
    hours_to_merge: float | None = None  # from the run's end; None: not merged (yet)


def score_run(facts: RunFacts, weights: ScoreWeights) -> float | None:
    """Weighted mean of the components that have evidence; None when the outcome is not scored
    (a cancelled run says nothing about its prompt). Votes count only when someone voted."""
    if facts.outcome not in weights.outcome:
        raise ValueError(f"no score weight for outcome {facts.outcome!r}")
    outcome = weights.outcome[facts.outcome]
    if outcome is None:
        return None
    w = weights.weights
    parts = [(w.outcome, outcome), (w.pull_request, weights.pull_request[facts.pull_request_state or "none"])]
    votes = facts.votes_up + facts.votes_down
    if votes:
        parts.append((w.votes, facts.votes_up / votes))
    budget = weights.efficiency
    iterations_used = min(1.0, max(0, facts.iterations - 1) / budget.iterations_budget)
    cost_used = min(1.0, (facts.cost_usd or 0.0) / budget.cost_budget_usd)
    parts.append((w.efficiency, 1.0 - 0.5 * iterations_used - 0.5 * cost_used))
    if facts.follow_up_rounds is not None:
        parts.append((w.follow_up, _follow_up_value(facts, weights.follow_up)))
    total_weight = sum(weight for weight, _ in parts)
    if total_weight == 0:
        raise ValueError("every component weight is zero")
    return sum(weight * value for weight, value in parts) / total_weight


def _follow_up_value(facts: RunFacts, budget: FollowUp) -> float:
    """Half for needing few rounds (none left to finish by CI rounds that gave up), half for a quick
    merge; a pull request that never merged earns no speed credit."""
    rounds = facts.follow_up_rounds or 0
    rounds_used = 1.0 if facts.ci_stopped else min(1.0, rounds / budget.rounds_budget)
    speed = 0.0
    if facts.hours_to_merge is not None:
        speed = 1.0 - min(1.0, max(0.0, facts.hours_to_merge) / budget.merge_hours_budget)
    return 0.5 * (1.0 - rounds_used) + 0.5 * speed
