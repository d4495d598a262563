"""An experiment whose winning arm named an agent and a model promotes them with its prompt version: runs
outside experiments are told to use them, the next experiment's control runs with them, the promotion
announces them, and a rollback restores the version, agent and model that were active before."""

from __future__ import annotations

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import PromptCategory, PromptPromoted, subjects
from paid_evolution import experiments, operations
from paid_evolution.activities import EvolutionActivities, EvolutionDeps
from paid_evolution.arms import ArmChoice
from paid_evolution.decisions import ExperimentSettings, Verdict
from paid_evolution.models import Experiment
from paid_evolution.params import ConcludeInput
from paid_prompt_client import PromptClient

from .test_agent_arm_experiments import NoMutations, agents_experiment, api_get

CODING = PromptCategory.CODING


async def resolved_outside_experiments(session: AsyncSession, project: str) -> tuple[str | None, ...]:
    resolved = await experiments.resolve_arm(session, category=CODING, project=project, run_key="run-1")
    return resolved.experiment_id, resolved.agent, resolved.model


async def promote_the_candidate(session: AsyncSession, experiment: Experiment) -> str:
    return await experiments.conclude(
        session,
        experiment_id=experiment.id,
        verdict=Verdict.PROMOTE,
        winner_version=experiment.control_version,
        winner_arm="candidate-1",
    )


async def test_runs_outside_experiments_get_the_promoted_agent_until_a_rollback(
    evolution: NatsBroker,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    project: str,
) -> None:
    assert await resolved_outside_experiments(session, project) == (None, None, None)
    experiment = await agents_experiment(session, project)
    assert await promote_the_candidate(session, experiment) == "promoted"

    assert await resolved_outside_experiments(session, project) == (None, "codex", "gpt-5-codex")
    reply = await PromptClient(broker.connection, timeout=5).resolve(CODING, project=project, run_key="run-2")
    assert (reply.experiment_id, reply.arm, reply.agent, reply.model) == (None, None, "codex", "gpt-5-codex")
    listed = [row for row in await api_get(sessions, "/api/prompts") if row["project"] == project]
    assert [(row["version_id"], row["agent"], row["model"]) for row in listed] == [
        ("coding@1", "codex", "gpt-5-codex")
    ]

    await operations.rollback(sessions, broker, category=CODING, project=project)
    assert await resolved_outside_experiments(session, project) == (None, None, None)
    announced = await broker.connection.jetstream().get_last_msg(
        "PAID_EVOLUTION", subjects.EVOLUTION_PROMPT_PROMOTED
    )
    rolled_back = PromptPromoted.model_validate_json(announced.data or b"")
    assert (rolled_back.project, rolled_back.reason, rolled_back.agent) == (project, "rollback", None)


async def test_an_approved_winner_brings_its_agent_and_the_next_control_runs_with_it(
    session: AsyncSession, project: str
) -> None:
    await experiments.set_policy(session, project=project, require_approval=True)
    experiment = await agents_experiment(session, project)
    assert await promote_the_candidate(session, experiment) == "awaiting_approval"
    assert await resolved_outside_experiments(session, project) == (None, None, None)

    assert await experiments.approve(session, experiment_id=experiment.id, approved=True) == "promoted"
    assert await resolved_outside_experiments(session, project) == (None, "codex", "gpt-5-codex")

    following = await experiments.start_experiment(
        session,
        category=CODING,
        project=project,
        candidates=[ArmChoice(agent="claude")],
        settings=ExperimentSettings(),
    )
    arms = await experiments.arms_of(session, experiment_id=following.id)
    assert [(arm.arm, arm.agent, arm.model) for arm in arms] == [
        ("candidate-1", "claude", None),
        ("control", "codex", "gpt-5-codex"),
    ]


async def test_the_promotion_announces_the_agent_and_model(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, broker: NatsBroker, project: str
) -> None:
    experiment = await agents_experiment(session, project)
    activities = EvolutionActivities(EvolutionDeps(sessions=sessions, broker=broker, generator=NoMutations()))
    decision = await activities.conclude(
        ConcludeInput(
            experiment_id=experiment.id,
            verdict=Verdict.PROMOTE,
            winner_version=experiment.control_version,
            winner_arm="candidate-1",
        )
    )
    assert decision == "promoted"
    announced = await broker.connection.jetstream().get_last_msg(
        "PAID_EVOLUTION", subjects.EVOLUTION_PROMPT_PROMOTED
    )
    promoted = PromptPromoted.model_validate_json(announced.data or b"")
    assert (promoted.project, promoted.version, promoted.agent, promoted.model) == (
        project,
        "coding@1",
        "codex",
        "gpt-5-codex",
    )
