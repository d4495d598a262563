"""Deterministic assignment of runs to experiment arms: a hash of the run key, never a coin flip.

A retried or redelivered run (same run key) always lands in the same arm, on any replica.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ArmWeight:
    arm: str
    weight: float


def bucket(experiment_id: str, run_key: str) -> float:
    """A uniform number in [0, 1) fixed by the pair; salted by the experiment so arms do not correlate
    across experiments."""
    digest = hashlib.sha256(f"{experiment_id}\x00{run_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(experiment_id: str, run_key: str, arms: Sequence[ArmWeight]) -> str:
    """The arm for the run key, by traffic split (weights renormalised over the given arms)."""
    if not arms:
        raise ValueError("an experiment needs at least one open arm")
    if any(arm.weight <= 0 for arm in arms):
        raise ValueError("arm weights must be positive")
    total = sum(arm.weight for arm in arms)
    point = bucket(experiment_id, run_key) * total
    cumulative = 0.0
    for arm in arms:
        cumulative += arm.weight
        if point < cumulative:
            return arm.arm
    return arms[-1].arm  # floating-point rounding at the very top of the range
