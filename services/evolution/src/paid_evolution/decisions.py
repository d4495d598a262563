"""When an experiment stops and what it concludes: a pure function of the arms' scores so far."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from paid_evolution.stats import ArmSample, Comparison, compare

CONTROL = "control"


class ExperimentSettings(BaseModel):
    """Kept with each experiment, so a change of defaults never changes a running one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alpha: float = Field(default=0.05, gt=0, lt=1, description="chance of promoting an equal candidate")
    tau2: float = Field(default=0.01, gt=0, description="mixture variance: effects of about sqrt(tau2)")
    min_samples_per_arm: int = Field(default=30, ge=2)
    max_samples_per_arm: int = Field(default=1000, ge=2)
    control_share: float = Field(default=0.5, gt=0, lt=1, description="traffic kept on the control")
    max_days: float = Field(default=28.0, gt=0)
    check_every_hours: float = Field(default=24.0, gt=0)


class Verdict(StrEnum):
    CONTINUE = "continue"
    PROMOTE = "promote"  # a candidate is better with the error bound
    DISCARD = "discard"  # every candidate is clearly worse
    INCONCLUSIVE = "inconclusive"  # out of samples or time without a winner


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    winner: str | None = None
    newly_stopped: tuple[str, ...] = ()  # candidate arms clearly worse than the control: stop them early
    comparisons: dict[str, Comparison] = field(default_factory=dict)


def decide(
    samples: Mapping[str, ArmSample],
    *,
    open_candidates: tuple[str, ...],
    settings: ExperimentSettings,
    out_of_time: bool = False,
    candidates_in_experiment: int | None = None,
) -> Decision:
    """Compares every open candidate with the control at alpha / k, k the number of candidates the
    experiment started with, stopped ones included (Bonferroni: the chance of any false winner stays
    below alpha; loosening the bound when an arm stops would break that), once each has the minimum
    sample."""
    control = samples.get(CONTROL, ArmSample())
    alpha = settings.alpha / max(1, candidates_in_experiment or len(open_candidates))
    comparisons: dict[str, Comparison] = {}
    winners: list[tuple[float, str]] = []
    stopped: list[str] = []
    for arm in open_candidates:
        candidate = samples.get(arm, ArmSample())
        if min(control.n, candidate.n) < settings.min_samples_per_arm:
            continue
        comparison = compare(control, candidate, alpha=alpha, tau2=settings.tau2)
        comparisons[arm] = comparison
        if comparison.candidate_better:
            winners.append((comparison.lower, arm))
        elif comparison.candidate_worse:
            stopped.append(arm)
    if winners:
        return Decision(Verdict.PROMOTE, max(winners)[1], tuple(stopped), comparisons)
    remaining = [arm for arm in open_candidates if arm not in stopped]
    if not remaining:
        return Decision(Verdict.DISCARD, None, tuple(stopped), comparisons)
    exhausted = all(
        min(control.n, samples.get(arm, ArmSample()).n) >= settings.max_samples_per_arm for arm in remaining
    )
    if out_of_time or exhausted:
        return Decision(Verdict.INCONCLUSIVE, None, tuple(stopped), comparisons)
    return Decision(Verdict.CONTINUE, None, tuple(stopped), comparisons)
