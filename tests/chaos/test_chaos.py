"""The short form of the chaos suite (`scripts/chaos` runs the long one): runs go through while every
kind of process is SIGKILLed; each labeled issue still ends in exactly one PR or one failure comment.
Authentication is on throughout: each service with its own NATS user and database login. The review
rounds' scenario is heavy; its short form is tests/integration/test_round_durability's short form,
services/executor/tests/test_round_rehome.py."""

from __future__ import annotations

import pytest

from paid_devstack.chaos import ALL_VICTIMS

from .run_chaos import run_chaos

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.chaos]


@pytest.mark.timeout(900)
def test_runs_survive_random_kills_of_every_process_without_loss_or_duplicates() -> None:
    report = run_chaos(runs=4, seed=11, victims=ALL_VICTIMS, min_seconds=20.0)
    print("\n".join(report.lines()))
    print("\n".join(f"failed honestly: {url}: {cause}" for url, cause in report.causes.items()))
    assert sum(report.kills.values()) >= 5, report.kills
    assert report.lost == []
    assert report.duplicated == []
    assert report.refused_without_credentials == ("nats", "postgres")  # authentication was on
    assert len(report.failed) < report.runs, "every run failing would mean chaos broke the pipeline"


@pytest.mark.heavy  # minutes: two runs in calm, then two review rounds while every process is killed
@pytest.mark.timeout(1200)
def test_review_rounds_survive_random_kills_of_every_process_without_loss_or_duplicates() -> None:
    report = run_chaos(runs=2, seed=5, victims=ALL_VICTIMS, min_seconds=30.0, scenario="review-rounds")
    print("\n".join(report.lines()))
    print("\n".join(f"failed honestly: {url}: {cause}" for url, cause in report.causes.items()))
    assert sum(report.kills.values()) >= 5, report.kills
    assert report.lost == []
    assert report.duplicated == []
    assert len(report.failed) < report.runs, "every round failing would mean chaos broke the rounds"
