"""Experiments whose arms are agents and models, on a real PostgreSQL and NATS: `paid.prompt.resolve`
hands each run its arm's agent and model, and a finished run counts for the arm it names only when it
used that arm's version, agent and model; a run that names no arm (its agent was not allowed, or a
trusted trigger chose above it) is not counted."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import (
    ExperimentConcluded,
    IssueRef,
    PromptCategory,
    RepoRef,
    RunFinished,
    RunOutcome,
    subjects,
)
from paid_evolution import api, experiments, repo
from paid_evolution.activities import EvolutionActivities, EvolutionDeps
from paid_evolution.arms import ArmChoice
from paid_evolution.decisions import ExperimentSettings, Verdict
from paid_evolution.models import Experiment
from paid_evolution.params import ConcludeInput, EvaluateInput, MutationInput
from paid_prompt_client import PromptClient

from .test_experiments import add_scores as add_scored_runs

CODING = PromptCategory.CODING


async def agents_experiment(
    session: AsyncSession, project: str, settings: ExperimentSettings | None = None
) -> Experiment:
    return await experiments.start_experiment(
        session,
        category=CODING,
        project=project,
        control_choice=ArmChoice(agent="claude"),
        candidates=[ArmChoice(agent="codex", model="gpt-5-codex")],
        settings=settings or ExperimentSettings(),
    )


def finished(
    project: str, *, agent: str, model: str | None, arm: str | None, experiment: str | None
) -> RunFinished:
    owner, name = project.split("/")
    return RunFinished(
        producer="executor",
        run_id=str(uuid.uuid4()),
        workflow_id=f"exec:{project}#1:1",
        issue=IssueRef(repo=RepoRef(owner=owner, name=name), number=1),
        agent=agent,
        model=model,
        prompt_version="coding@1",
        outcome=RunOutcome.SUCCEEDED,
        started_at=datetime.now(UTC).isoformat(),
        duration_seconds=3.0,
        iterations=1,
        experiment_id=experiment,
        arm=arm,
    )


async def test_each_run_gets_its_arms_agent_and_model(
    evolution: NatsBroker, broker: NatsBroker, session: AsyncSession, project: str
) -> None:
    experiment = await agents_experiment(session, project)
    client = PromptClient(broker.connection, timeout=5)

    seen: Counter[tuple[str | None, str | None, str | None, str]] = Counter()
    for number in range(60):
        prompt = await client.resolve(CODING, project=project, run_key=f"exec:{project}#{number}:1")
        assert prompt.experiment_id == experiment.id
        seen[(prompt.arm, prompt.agent, prompt.model, prompt.version)] += 1

    assert set(seen) == {
        ("control", "claude", None, "coding@1"),
        ("candidate-1", "codex", "gpt-5-codex", "coding@1"),
    }


async def test_a_run_counts_for_the_arm_it_names_only_when_it_used_that_arm(
    session: AsyncSession, project: str
) -> None:
    experiment = await agents_experiment(session, project)
    used = finished(project, agent="codex", model="gpt-5-codex", arm="candidate-1", experiment=experiment.id)
    wrong_agent = finished(
        project, agent="claude", model="gpt-5-codex", arm="candidate-1", experiment=experiment.id
    )
    unnamed = finished(project, agent="claude", model=None, arm=None, experiment=None)
    other_experiment = finished(project, agent="claude", model=None, arm="control", experiment="elsewhere")

    for event in (used, wrong_agent, unnamed, other_experiment):
        assert await repo.record_run(session, event=event, trace_id=None)

    recorded = {
        event.run_id: await repo.get_run(session, run_id=event.run_id)
        for event in (used, wrong_agent, unnamed, other_experiment)
    }
    attributed = {run_id: (run.experiment_id, run.arm) for run_id, run in recorded.items() if run}
    assert attributed[used.run_id] == (experiment.id, "candidate-1")
    for event in (wrong_agent, unnamed, other_experiment):
        assert attributed[event.run_id] == (None, None)
    samples = await experiments.samples(session, experiment_id=experiment.id)
    assert {arm: sample.n for arm, sample in samples.items()} == {"candidate-1": 1}
    summaries = {s.arm: s for s in await experiments.summaries(session, experiment_id=experiment.id)}
    assert (summaries["candidate-1"].agent, summaries["candidate-1"].model) == ("codex", "gpt-5-codex")
    assert (summaries["control"].agent, summaries["control"].samples) == ("claude", 0)


@pytest.mark.parametrize(
    ("control", "candidate", "problem"),
    [
        (ArmChoice(agent="claude"), ArmChoice(agent="claude"), "cannot be a candidate"),
        (None, ArmChoice(), "cannot be a candidate"),
        (None, ArmChoice(agent="codex; rm -rf /"), "plain name"),
        (ArmChoice(model="../../etc/passwd"), ArmChoice(agent="codex"), "plain name"),
        (ArmChoice(version_id="coding@999"), ArmChoice(agent="codex"), "the active one"),
    ],
)
async def test_an_arm_that_changes_nothing_or_names_no_plain_agent_is_refused(
    session: AsyncSession, project: str, control: ArmChoice | None, candidate: ArmChoice, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        await experiments.start_experiment(
            session,
            category=CODING,
            project=project,
            control_choice=control,
            candidates=[candidate],
            settings=ExperimentSettings(),
        )
    assert await experiments.open_experiment(session, category=CODING, project=project) is None


async def test_the_api_shows_each_arms_agent_and_model(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, project: str
) -> None:
    experiment = await agents_experiment(session, project)
    app = api.mount(FastAPI(), sessions, token="gateway-token")
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer gateway-token"}
    async with httpx.AsyncClient(transport=transport, base_url="http://e", headers=headers) as http:
        body = (await http.get(f"/api/experiments/{experiment.id}")).json()

    arms = {arm["arm"]: (arm["agent"], arm["model"], arm["version_id"]) for arm in body["arms"]}
    assert arms == {
        "control": ("claude", None, "coding@1"),
        "candidate-1": ("codex", "gpt-5-codex", "coding@1"),
    }


async def api_get(sessions: async_sessionmaker[AsyncSession], path: str, **params: str) -> Any:
    app = api.mount(FastAPI(), sessions, token="gateway-token")
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer gateway-token"}
    async with httpx.AsyncClient(transport=transport, base_url="http://e", headers=headers) as http:
        answer = await http.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def add_scores(session: AsyncSession, experiment: Experiment, arm: str, scores: list[float]) -> None:
    agent = "codex" if arm == "candidate-1" else "claude"
    await add_scored_runs(session, experiment, arm, scores, agent=agent, prompt_version="coding@1")


class NoMutations:
    async def generate(self, request: MutationInput) -> list[str]:
        raise AssertionError("no mutation is asked for here")


async def test_the_api_shows_which_agent_and_model_won(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, broker: NatsBroker, project: str
) -> None:
    """Both arms run the same prompt version, so only the arm, its agent and model say who won; the
    workflow's activities carry the arm from the evaluation to the conclusion and its announcement."""
    settings = ExperimentSettings(min_samples_per_arm=30, max_samples_per_arm=400)
    experiment = await agents_experiment(session, project, settings)
    await add_scores(session, experiment, "control", [1.0] * 50 + [0.0] * 50)
    await add_scores(session, experiment, "candidate-1", [1.0] * 300)
    activities = EvolutionActivities(EvolutionDeps(sessions=sessions, broker=broker, generator=NoMutations()))
    evaluation = await activities.evaluate(EvaluateInput(experiment_id=experiment.id, out_of_time=False))
    assert (evaluation.verdict, evaluation.winner_arm) == (Verdict.PROMOTE, "candidate-1")
    decision = await activities.conclude(
        ConcludeInput(
            experiment_id=experiment.id,
            verdict=evaluation.verdict,
            winner_version=evaluation.winner_version,
            winner_arm=evaluation.winner_arm,
        )
    )
    assert decision == "promoted"
    announced = await broker.connection.jetstream().get_last_msg(
        "PAID_EVOLUTION", subjects.EVOLUTION_EXPERIMENT_CONCLUDED
    )
    concluded = ExperimentConcluded.model_validate_json(announced.data or b"")
    assert (concluded.experiment_id, concluded.winner_arm) == (experiment.id, "candidate-1")

    shown = await api_get(sessions, f"/api/experiments/{experiment.id}")
    listed = await api_get(sessions, "/api/experiments", project=project)

    fields = ("winner_version", "winner_arm", "winner_agent", "winner_model")
    expected = ("coding@1", "candidate-1", "codex", "gpt-5-codex")
    assert tuple(shown[field] for field in fields) == expected
    assert [tuple(x[field] for field in fields) for x in listed] == [expected]


async def test_an_undecided_experiment_names_no_winning_arm(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, project: str
) -> None:
    experiment = await agents_experiment(session, project)
    decision = await experiments.conclude(
        session, experiment_id=experiment.id, verdict=Verdict.INCONCLUSIVE, winner_version=None
    )
    assert decision == "inconclusive"
    shown = await api_get(sessions, f"/api/experiments/{experiment.id}")
    assert (shown["winner_arm"], shown["winner_agent"], shown["winner_model"]) == (None, None, None)
