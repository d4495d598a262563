"""Experiments on a real PostgreSQL: one open per category and project, early stop, promotion with or
without approval, discarding, and rollback of a promotion."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import PromptCategory
from paid_evolution import experiments, registry
from paid_evolution.decisions import ExperimentSettings, Verdict
from paid_evolution.models import Experiment, RunRecord

CODING = PromptCategory.CODING
VARIABLES = ("repo", "branch", "number", "title", "body")
SETTINGS = ExperimentSettings(min_samples_per_arm=30, max_samples_per_arm=400)


async def candidate(session: AsyncSession, text: str) -> str:
    version = await registry.register_version(
        session,
        category=CODING,
        template="{{ repo }}#{{ number }} {{ branch }} {{ title }}\n{{ body }}\n" + text,
        variables=VARIABLES,
        parent_id="coding@1",
        reason="test",
    )
    return version.id


async def add_scores(
    session: AsyncSession,
    experiment: Experiment,
    arm: str,
    scores: list[float],
    *,
    agent: str = "demo",
    prompt_version: str = "?",
) -> None:
    """Scored runs of `arm`, as the scoring of finished runs records them."""
    now = datetime.now(UTC)
    for score in scores:
        session.add(
            RunRecord(
                run_id=str(uuid.uuid4()),
                workflow_id="w",
                repo=experiment.project,
                issue=1,
                agent=agent,
                prompt_version=prompt_version,
                outcome="succeeded",
                started_at=now,
                duration_seconds=1,
                iterations=1,
                recorded_at=now,
                category=experiment.category,
                project=experiment.project,
                experiment_id=experiment.id,
                arm=arm,
                score=score,
            )
        )
    await session.commit()


async def test_only_one_experiment_per_category_and_project_is_open(
    session: AsyncSession, project: str
) -> None:
    first = await candidate(session, f"one {project}")
    await experiments.start_experiment(
        session, category=CODING, project=project, candidates=[first], settings=SETTINGS
    )
    with pytest.raises(experiments.ExperimentAlreadyOpenError):
        await experiments.start_experiment(
            session,
            category=CODING,
            project=project,
            candidates=[await candidate(session, f"two {project}")],
            settings=SETTINGS,
        )
    # Another project, or another category, may experiment at the same time.
    await experiments.start_experiment(
        session, category=CODING, project=project + "-other", candidates=[first], settings=SETTINGS
    )


async def test_a_worse_arm_stops_early_and_gets_no_more_traffic_then_a_winner_is_promoted(
    session: AsyncSession, project: str
) -> None:
    worse, better = (
        await candidate(session, f"worse {project}"),
        await candidate(session, f"better {project}"),
    )
    experiment = await experiments.start_experiment(
        session, category=CODING, project=project, candidates=[worse, better], settings=SETTINGS
    )
    await add_scores(session, experiment, "control", [1.0] * 50 + [0.0] * 50)
    await add_scores(session, experiment, "candidate-1", [1.0] * 10 + [0.0] * 90)
    await add_scores(session, experiment, "candidate-2", [1.0] * 55 + [0.0] * 45)

    evaluation = await experiments.evaluate(session, experiment_id=experiment.id)

    assert evaluation.decision.verdict is Verdict.CONTINUE
    assert evaluation.decision.newly_stopped == ("candidate-1",)
    arms = {a.arm: a for a in await experiments.arms_of(session, experiment_id=experiment.id)}
    assert arms["candidate-1"].stopped_at is not None
    resolved = {
        (await experiments.resolve(session, category=CODING, project=project, run_key=f"k{n}"))[2]
        for n in range(60)
    }
    assert resolved == {"control", "candidate-2"}

    await add_scores(session, experiment, "candidate-2", [1.0] * 300)
    evaluation = await experiments.evaluate(session, experiment_id=experiment.id)
    assert (evaluation.decision.verdict, evaluation.winner_version) == (Verdict.PROMOTE, better)

    decision = await experiments.conclude(
        session, experiment_id=experiment.id, verdict=evaluation.decision.verdict, winner_version=better
    )

    assert decision == "promoted"
    assert (await registry.active_version(session, category=CODING, project=project)).id == better
    assert (await registry.get_version(session, version_id=worse)).status == "retired"
    assert await experiments.open_experiment(session, category=CODING, project=project) is None
    # And the promotion can be undone.
    assert await registry.rollback(session, category=CODING, project=project) == (better, "coding@1")


async def test_a_project_that_asks_for_approval_gets_a_waiting_winner(
    session: AsyncSession, project: str
) -> None:
    await experiments.set_policy(session, project=project, require_approval=True)
    winner = await candidate(session, f"approve {project}")
    experiment = await experiments.start_experiment(
        session, category=CODING, project=project, candidates=[winner], settings=SETTINGS
    )

    decision = await experiments.conclude(
        session, experiment_id=experiment.id, verdict=Verdict.PROMOTE, winner_version=winner
    )

    assert decision == "awaiting_approval"
    assert (await registry.active_version(session, category=CODING, project=project)).id == "coding@1"
    version, experiment_id, _ = await experiments.resolve(
        session, category=CODING, project=project, run_key="k"
    )
    assert (version.id, experiment_id) == ("coding@1", None)  # no traffic to the candidate meanwhile
    assert await experiments.approve(session, experiment_id=experiment.id, approved=True) == "promoted"
    assert (await registry.active_version(session, category=CODING, project=project)).id == winner
    with pytest.raises(ValueError, match="awaits no approval"):
        await experiments.approve(session, experiment_id=experiment.id, approved=True)


async def test_an_inconclusive_experiment_keeps_the_control(session: AsyncSession, project: str) -> None:
    loser = await candidate(session, f"inconclusive {project}")
    experiment = await experiments.start_experiment(
        session, category=CODING, project=project, candidates=[loser], settings=SETTINGS
    )
    assert (
        await experiments.conclude(
            session, experiment_id=experiment.id, verdict=Verdict.INCONCLUSIVE, winner_version=None
        )
        == "inconclusive"
    )
    assert (await registry.active_version(session, category=CODING, project=project)).id == "coding@1"
    assert (await registry.get_version(session, version_id=loser)).status == "retired"
