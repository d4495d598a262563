"""Assignment by hashing the run key: deterministic, salted per experiment, split by weight."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paid_evolution.assignment import ArmWeight, assign, bucket

ARMS = (ArmWeight("control", 0.5), ArmWeight("candidate-1", 0.25), ArmWeight("candidate-2", 0.25))


@given(experiment=st.text(min_size=1), run_key=st.text(min_size=1))
def test_the_same_run_key_always_gets_the_same_arm(experiment: str, run_key: str) -> None:
    assert assign(experiment, run_key, ARMS) == assign(experiment, run_key, list(ARMS))
    assert 0 <= bucket(experiment, run_key) < 1


def test_traffic_follows_the_weights() -> None:
    counts = Counter(assign("exp-1", f"exec:acme/calc#{n}:1", ARMS) for n in range(20_000))
    assert counts["control"] / 20_000 == pytest.approx(0.5, abs=0.02)
    assert counts["candidate-1"] / 20_000 == pytest.approx(0.25, abs=0.02)
    assert counts["candidate-2"] / 20_000 == pytest.approx(0.25, abs=0.02)


def test_experiments_split_the_same_runs_independently() -> None:
    keys = [f"run-{n}" for n in range(4000)]
    first = [assign("exp-1", key, ARMS[:2]) for key in keys]
    second = [assign("exp-2", key, ARMS[:2]) for key in keys]
    agreement = sum(a == b for a, b in zip(first, second, strict=True)) / len(keys)
    assert agreement == pytest.approx(0.5 * 0.5 / 0.75**2 + 0.25 * 0.25 / 0.75**2, abs=0.04)


def test_bad_arms_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        assign("exp", "key", [])
    with pytest.raises(ValueError, match="positive"):
        assign("exp", "key", [ArmWeight("control", 0)])
