"""Sequential A/B statistics that stay valid however often the results are looked at.

The test is the mixture sequential probability ratio test (mSPRT) of Johari, Pekelis and Walsh,
"Always Valid Inference" (2017), for the difference of two means. With d the difference of the
arms' mean scores, v its estimated variance and a N(0, tau^2) mixture over the true difference, the
likelihood ratio against "no difference" is

    L = sqrt(v / (v + tau^2)) * exp(d^2 tau^2 / (2 v (v + tau^2)))

By Ville's inequality the chance that L ever reaches 1/alpha under equal arms is at most alpha, at
every sample size and under continuous peeking. Inverting it gives an always-valid confidence
sequence for the difference, used to declare a winner (lower bound > 0) or a clearly worse arm
(upper bound < 0). Scores lie in [0, 1]; the variance is pooled and shrunk towards the largest
possible (0.25) by one pseudo-observation per arm so that a few identical scores cannot fake
certainty. See services/evolution/README.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_VARIANCE = 0.25  # of anything in [0, 1]
PSEUDO_OBSERVATIONS = 1.0


@dataclass(frozen=True)
class ArmSample:
    """Sufficient statistics of an arm's scores."""

    n: int = 0
    total: float = 0.0
    total_squares: float = 0.0

    @classmethod
    def of(cls, scores: list[float]) -> ArmSample:
        return cls(len(scores), sum(scores), sum(s * s for s in scores))

    def add(self, score: float) -> ArmSample:
        return ArmSample(self.n + 1, self.total + score, self.total_squares + score * score)

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def sum_of_squares(self) -> float:
        """Sum of squared deviations from the arm's mean."""
        return max(0.0, self.total_squares - self.total * self.total / self.n) if self.n else 0.0


@dataclass(frozen=True)
class Comparison:
    difference: float  # candidate mean - control mean
    lower: float
    upper: float
    likelihood_ratio: float
    p_value: float  # always-valid: min(1, 1/L)

    @property
    def candidate_better(self) -> bool:
        return self.lower > 0

    @property
    def candidate_worse(self) -> bool:
        return self.upper < 0


def compare(control: ArmSample, candidate: ArmSample, *, alpha: float, tau2: float) -> Comparison:
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    if tau2 <= 0:
        raise ValueError("tau2 must be positive")
    if control.n == 0 or candidate.n == 0:
        return Comparison(0.0, -math.inf, math.inf, 1.0, 1.0)
    difference = candidate.total / candidate.n - control.total / control.n
    pooled = (control.sum_of_squares + candidate.sum_of_squares + 2 * PSEUDO_OBSERVATIONS * MAX_VARIANCE) / (
        control.n + candidate.n - 2 + 2 * PSEUDO_OBSERVATIONS
    )
    variance = max(pooled, 1e-9) * (1 / control.n + 1 / candidate.n)
    log_ratio = 0.5 * math.log(variance / (variance + tau2)) + difference**2 * tau2 / (
        2 * variance * (variance + tau2)
    )
    radius = math.sqrt(
        variance
        * (variance + tau2)
        / tau2
        * (2 * math.log(1 / alpha) + math.log((variance + tau2) / variance))
    )
    ratio = math.exp(min(log_ratio, 700.0))
    return Comparison(difference, difference - radius, difference + radius, ratio, min(1.0, 1 / ratio))
