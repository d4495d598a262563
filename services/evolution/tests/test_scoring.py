"""Scores from real outcomes, with the weights read from data."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from paid_evolution.scoring import RunFacts, load_weights, score_run

WEIGHTS = load_weights()


def facts(**changes: object) -> RunFacts:
    base: dict[str, object] = {
        "outcome": "succeeded",
        "pull_request_state": "open",
        "votes_up": 0,
        "votes_down": 0,
        "iterations": 1,
        "cost_usd": 0.0,
    }
    return RunFacts(**{**base, **changes})  # type: ignore[arg-type]


def score(**changes: object) -> float:
    value = score_run(facts(**changes), WEIGHTS)
    assert value is not None
    return value


def test_scores_lie_in_the_unit_interval_and_a_clean_merge_is_perfect() -> None:
    assert score(pull_request_state="merged") == pytest.approx(1.0)
    assert score(outcome="error", pull_request_state=None, iterations=50, cost_usd=99) == pytest.approx(0.0)


def test_a_merge_raises_the_score_and_a_closed_pr_lowers_it() -> None:
    assert (
        score(pull_request_state="closed")
        < score(pull_request_state="open")
        < score(pull_request_state="merged")
    )


def test_votes_count_only_when_someone_voted() -> None:
    assert score(votes_up=3) > score() > score(votes_down=2)
    assert score(votes_up=1, votes_down=1) != score()


def test_more_iterations_and_cost_lower_the_score() -> None:
    assert score(iterations=4) < score(iterations=1)
    assert score(cost_usd=2.5) < score(cost_usd=0.0)


def test_a_cancelled_run_is_not_scored_and_an_unknown_outcome_is_an_error() -> None:
    assert score_run(facts(outcome="cancelled"), WEIGHTS) is None
    with pytest.raises(ValueError, match="no score weight for outcome 'exploded'"):
        score_run(facts(outcome="exploded"), WEIGHTS)


def test_weights_are_data_and_bad_files_are_refused(tmp_path: Path) -> None:
    text = Path(__file__).resolve().parents[1].joinpath("src/paid_evolution/scoring_weights.yaml").read_text()
    votes_only = tmp_path / "votes_only.yaml"
    votes_only.write_text(
        text.replace("outcome: 0.3", "outcome: 0")
        .replace("pull_request: 0.45", "pull_request: 0")
        .replace("efficiency: 0.1", "efficiency: 0")
    )
    assert score_run(facts(votes_up=1, votes_down=3), load_weights(votes_only)) == pytest.approx(0.25)
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("merged: 1.0", "merged: 3.0"))
    with pytest.raises(ValidationError, match="in \\[0, 1\\]"):
        load_weights(broken)
    not_yaml = tmp_path / "not.yaml"
    not_yaml.write_text("weights: [")
    with pytest.raises(ValueError, match="not YAML"):
        load_weights(not_yaml)


def test_follow_up_rounds_and_a_slow_merge_lower_the_score_and_no_summary_scores_as_before() -> None:
    merged_as_is = score(pull_request_state="merged")
    three_reviews = score(pull_request_state="merged", follow_up_rounds=3, hours_to_merge=1.0)
    one_review = score(pull_request_state="merged", follow_up_rounds=1, hours_to_merge=1.0)
    assert three_reviews < one_review < merged_as_is
    assert score(pull_request_state="merged", follow_up_rounds=1, hours_to_merge=60.0) < one_review
    assert score(pull_request_state="merged", follow_up_rounds=1, hours_to_merge=1.0, ci_stopped=True) < (
        one_review
    )
    assert score(pull_request_state="closed", follow_up_rounds=1) < score(pull_request_state="closed")
    assert score(pull_request_state="merged", follow_up_rounds=None, hours_to_merge=1.0) == merged_as_is
