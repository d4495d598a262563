"""Deciding an experiment from its arms' scores: minimum sample, Bonferroni, early stop, inconclusive."""

from __future__ import annotations

from paid_evolution.decisions import CONTROL, ExperimentSettings, Verdict, decide
from paid_evolution.stats import ArmSample

POLICY = ExperimentSettings(min_samples_per_arm=30, max_samples_per_arm=400)


def arm(successes: int, n: int) -> ArmSample:
    return ArmSample.of([1.0] * successes + [0.0] * (n - successes))


def test_nothing_is_decided_below_the_minimum_sample_however_large_the_gap() -> None:
    decision = decide(
        {CONTROL: arm(0, 29), "candidate-1": arm(29, 29)}, open_candidates=("candidate-1",), settings=POLICY
    )
    assert decision.verdict is Verdict.CONTINUE
    assert decision.comparisons == {}


def test_a_clearly_better_candidate_wins() -> None:
    decision = decide(
        {CONTROL: arm(60, 200), "candidate-1": arm(140, 200)},
        open_candidates=("candidate-1",),
        settings=POLICY,
    )
    assert (decision.verdict, decision.winner) == (Verdict.PROMOTE, "candidate-1")


def test_a_clearly_worse_candidate_is_stopped_early_and_the_others_go_on() -> None:
    samples = {CONTROL: arm(140, 200), "candidate-1": arm(40, 200), "candidate-2": arm(139, 200)}
    decision = decide(samples, open_candidates=("candidate-1", "candidate-2"), settings=POLICY)
    assert decision.verdict is Verdict.CONTINUE
    assert decision.newly_stopped == ("candidate-1",)


def test_when_every_candidate_is_worse_the_experiment_is_discarded() -> None:
    decision = decide(
        {CONTROL: arm(140, 200), "candidate-1": arm(40, 200)},
        open_candidates=("candidate-1",),
        settings=POLICY,
    )
    assert decision.verdict is Verdict.DISCARD


def test_out_of_samples_or_time_without_a_winner_is_inconclusive() -> None:
    equal = {CONTROL: arm(200, 400), "candidate-1": arm(201, 400)}
    assert decide(equal, open_candidates=("candidate-1",), settings=POLICY).verdict is Verdict.INCONCLUSIVE
    early = {CONTROL: arm(50, 100), "candidate-1": arm(51, 100)}
    assert decide(early, open_candidates=("candidate-1",), settings=POLICY).verdict is Verdict.CONTINUE
    assert (
        decide(early, open_candidates=("candidate-1",), settings=POLICY, out_of_time=True).verdict
        is Verdict.INCONCLUSIVE
    )


def test_more_candidates_need_stronger_evidence() -> None:
    # A gap that wins against alpha = 0.05 ...
    samples = {CONTROL: arm(100, 300), "candidate-1": arm(140, 300)}
    single = decide(samples, open_candidates=("candidate-1",), settings=POLICY)
    # ... is judged at alpha / 4 when four candidates compete (Bonferroni).
    crowded = decide(
        {**samples, "candidate-2": arm(100, 300), "candidate-3": arm(100, 300), "candidate-4": arm(100, 300)},
        open_candidates=("candidate-1", "candidate-2", "candidate-3", "candidate-4"),
        settings=POLICY,
    )
    assert single.comparisons["candidate-1"].lower > crowded.comparisons["candidate-1"].lower


def test_a_stopped_arm_still_counts_in_the_correction() -> None:
    samples = {CONTROL: arm(100, 300), "candidate-1": arm(140, 300), "candidate-2": arm(10, 300)}
    alone = decide(samples, open_candidates=("candidate-1",), settings=POLICY)
    kept = decide(samples, open_candidates=("candidate-1",), settings=POLICY, candidates_in_experiment=2)
    assert kept.comparisons["candidate-1"].lower < alone.comparisons["candidate-1"].lower
