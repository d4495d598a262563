"""Agents as arms, simulated: runs of two agents with known success rates and costs are assigned by
evolution's own assignment, scored by its scoring (cost included) and judged by its sequential test,
all unchanged. The better agent is promoted; equal agents give at most 5 % false winners."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import pytest

from paid_evolution.assignment import ArmWeight, assign
from paid_evolution.decisions import CONTROL, ExperimentSettings, Verdict, decide
from paid_evolution.scoring import RunFacts, load_weights, score_run
from paid_evolution.stats import ArmSample

WEIGHTS = load_weights()
CANDIDATE = "candidate-1"


@dataclass(frozen=True)
class SimulatedAgent:
    name: str
    success_rate: float  # the run succeeds and its PR is merged; otherwise tests fail, the PR is closed
    cost_usd: float

    def run(self, rng: random.Random) -> RunFacts:
        succeeded = rng.random() < self.success_rate
        return RunFacts(
            outcome="succeeded" if succeeded else "tests_failing",
            pull_request_state="merged" if succeeded else "closed",
            votes_up=0,
            votes_down=0,
            iterations=1 if succeeded else 3,
            cost_usd=self.cost_usd,
        )


@functools.cache
def scored(facts: RunFacts) -> float:
    score = score_run(facts, WEIGHTS)
    assert score is not None
    return score


def experiment(
    control: SimulatedAgent, candidate: SimulatedAgent, rng: random.Random, number: int
) -> str | None:
    """Runs until the experiment decides (looking every 20 runs, at most 300 per arm); the winner's
    agent, or None."""
    settings = ExperimentSettings(min_samples_per_arm=20, max_samples_per_arm=300)
    agents = {CONTROL: control, CANDIDATE: candidate}
    weights = [ArmWeight(CONTROL, 0.5), ArmWeight(CANDIDATE, 0.5)]
    samples = {CONTROL: ArmSample(), CANDIDATE: ArmSample()}
    for run in range(1, 4 * settings.max_samples_per_arm):  # enough for both arms to reach the cap
        arm = assign(f"agents-{number}", f"alice/calc#{run}", weights)
        samples[arm] = samples[arm].add(scored(agents[arm].run(rng)))
        if run % 20:
            continue
        decision = decide(samples, open_candidates=(CANDIDATE,), settings=settings)
        if decision.verdict is Verdict.PROMOTE:
            assert decision.winner is not None
            return agents[decision.winner].name
        if decision.verdict is not Verdict.CONTINUE:
            return None
    return None


def test_the_agent_that_succeeds_more_often_is_promoted() -> None:
    rng = random.Random(23)
    claude = SimulatedAgent("claude", success_rate=0.4, cost_usd=0.8)
    aider = SimulatedAgent("aider", success_rate=0.7, cost_usd=0.8)
    winners = [experiment(claude, aider, rng, number) for number in range(40)]
    assert winners.count("aider") >= 36, winners
    assert "claude" not in winners
    # The other way round: the better agent as the control is never replaced by the worse one.
    assert all(experiment(aider, claude, rng, number) is None for number in range(40, 60))


def false_winner_rate(experiments: int, seed: int) -> float:
    rng = random.Random(seed)
    codex = SimulatedAgent("codex", success_rate=0.55, cost_usd=1.2)
    gemini = SimulatedAgent("gemini", success_rate=0.55, cost_usd=1.2)
    winners = [experiment(codex, gemini, rng, number) for number in range(experiments)]
    return sum(winner is not None for winner in winners) / experiments


def test_equal_agents_give_at_most_five_percent_false_winners() -> None:
    """100 experiments, each peeked at every 20 runs (the long form, 1000, is heavy)."""
    assert false_winner_rate(100, seed=5) <= 0.05


@pytest.mark.heavy
def test_equal_agents_give_at_most_five_percent_false_winners_in_1000_experiments() -> None:
    assert false_winner_rate(1000, seed=6) <= 0.05


def test_cost_counts_in_the_score() -> None:
    """Equal success, one agent dearer: its runs score lower, so it needs to succeed more to win."""
    cheap = SimulatedAgent("opencode", success_rate=1.0, cost_usd=0.5)
    dear = SimulatedAgent("codex", success_rate=1.0, cost_usd=4.5)
    rng = random.Random(1)
    cheap_score, dear_score = (score_run(agent.run(rng), WEIGHTS) for agent in (cheap, dear))
    assert cheap_score is not None
    assert dear_score is not None
    assert cheap_score > dear_score
