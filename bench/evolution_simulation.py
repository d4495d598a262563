"""Prompt evolution against a known ground truth: a synthetic agent whose chance of a merged pull request
depends on the prompt it was given.

Every run goes through evolution's own code: the arm is assigned by hashing the run key
(`paid_evolution.assignment`), the run is scored from its outcome and its PR's fate with the weights in
scoring_weights.yaml (`paid_evolution.scoring`), and the experiment is decided by the sequential test
(`paid_evolution.decisions`) looked at after every simulated day, exactly as PromptEvolutionWorkflow
does. Two figures:

- with a truly better candidate (merge chance 0.55 against 0.40): how often, and after how many runs,
  the better prompt is promoted;
- across 100 experiments whose two variants are equal (0.45 each): how often a false winner is promoted
  (the bound is alpha = 0.05).

Prints `name value unit` lines. Usage: bench/evolution_simulation.py [--experiments N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import statistics
from dataclasses import dataclass

from paid_evolution.assignment import ArmWeight, assign
from paid_evolution.decisions import CONTROL, ExperimentSettings, Verdict, decide
from paid_evolution.scoring import RunFacts, load_weights, score_run
from paid_evolution.stats import ArmSample

WEIGHTS = load_weights()
SETTINGS = ExperimentSettings()  # the defaults a real experiment gets: alpha 0.05, 30 runs minimum per arm
RUNS_PER_DAY = 20
CANDIDATE = "candidate-1"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    winner: str | None
    runs: int


def synthetic_run(merge_chance: float, rng: random.Random) -> float:
    """One run of the synthetic agent, scored by evolution's real scoring."""
    merged = rng.random() < merge_chance
    facts = RunFacts(
        outcome="succeeded" if merged or rng.random() < 0.3 else "tests_failing",
        pull_request_state="merged" if merged else "closed",
        votes_up=0,
        votes_down=0,
        iterations=rng.randint(1, 3),
        cost_usd=rng.uniform(0.1, 1.5),
    )
    score = score_run(facts, WEIGHTS)
    assert score is not None
    return score


def experiment(index: int, control_chance: float, candidate_chance: float, rng: random.Random) -> Outcome:
    chances = {CONTROL: control_chance, CANDIDATE: candidate_chance}
    arms = [ArmWeight(CONTROL, SETTINGS.control_share), ArmWeight(CANDIDATE, 1 - SETTINGS.control_share)]
    samples = {CONTROL: ArmSample(), CANDIDATE: ArmSample()}
    max_runs = int(SETTINGS.max_days * RUNS_PER_DAY)
    for run in range(1, max_runs + 1):
        arm = assign(f"bench-{index}", f"exec:acme/calc#{run}:1", arms)
        samples[arm] = samples[arm].add(synthetic_run(chances[arm], rng))
        last_day = run == max_runs
        if run % RUNS_PER_DAY and not last_day:
            continue
        decision = decide(samples, open_candidates=(CANDIDATE,), settings=SETTINGS, out_of_time=last_day)
        if decision.verdict is not Verdict.CONTINUE:
            return Outcome(decision.verdict, decision.winner, run)
    raise AssertionError("the last day always decides")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--experiments", type=int, default=100, help="per scenario")
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    better = [experiment(i, 0.40, 0.55, rng) for i in range(args.experiments)]
    promoted = [o for o in better if o.winner == CANDIDATE]
    equal = [experiment(10_000 + i, 0.45, 0.45, rng) for i in range(100)]
    false_winners = sum(1 for o in equal if o.winner is not None)

    print(f"evolution_better_prompt_promoted_rate {len(promoted) / len(better):.3f} ratio")
    if promoted:
        runs = sorted(o.runs for o in promoted)
        print(f"evolution_runs_to_promote_better_prompt_median {statistics.median(runs):.0f} runs")
        print(f"evolution_runs_to_promote_better_prompt_p90 {runs[int(0.9 * (len(runs) - 1))]} runs")
    inconclusive = sum(1 for o in better if o.verdict is Verdict.INCONCLUSIVE)
    print(f"evolution_better_prompt_inconclusive_rate {inconclusive / len(better):.3f} ratio")
    print(f"evolution_false_winner_rate_equal_variants {false_winners / len(equal):.3f} ratio")
    print(f"evolution_false_winners_equal_variants {false_winners} of_100_experiments")
    if false_winners / len(equal) > SETTINGS.alpha:
        raise SystemExit(f"false-winner rate above alpha = {SETTINGS.alpha}")


if __name__ == "__main__":
    main()
