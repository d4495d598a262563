"""Experiments in the database: start (one open per category and project), resolve, evaluate, conclude."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import ArmSummary, PromptCategory
from paid_evolution import registry
from paid_evolution.arms import ArmChoice, ResolvedArm, checked_arms, ran_with
from paid_evolution.assignment import ArmWeight, assign
from paid_evolution.decisions import CONTROL, Decision, ExperimentSettings, Verdict, decide
from paid_evolution.models import Experiment, ExperimentArm, ProjectPolicy, PromptVersion, RunRecord
from paid_evolution.stats import ArmSample

OPEN = ("running", "awaiting_approval")


class ExperimentAlreadyOpenError(RuntimeError):
    pass


async def open_experiment(
    session: AsyncSession, *, category: PromptCategory, project: str
) -> Experiment | None:
    query = select(Experiment).where(
        Experiment.category == category.value, Experiment.project == project, col(Experiment.status).in_(OPEN)
    )
    return (await session.exec(query)).first()


async def start_experiment(
    session: AsyncSession,
    *,
    category: PromptCategory,
    project: str,
    candidates: Sequence[str | ArmChoice],
    settings: ExperimentSettings,
    experiment_id: str | None = None,
    control_choice: ArmChoice | None = None,
) -> Experiment:
    """The active version is the control; candidates share the rest of the traffic equally. A candidate
    is a prompt version (its id) or an ArmChoice: an agent, a model, a version or a combination; the
    control may name an agent and a model too (its version is always the active one)."""
    if not candidates:
        raise ValueError("an experiment needs at least one candidate")
    if experiment_id is not None and (existing := await session.get(Experiment, experiment_id)) is not None:
        return existing  # a retried activity
    control, base, choices = await checked_arms(
        session, category=category, project=project, candidates=candidates, control_choice=control_choice
    )
    experiment = Experiment(
        id=experiment_id or str(uuid.uuid4()),
        category=category.value,
        project=project,
        control_version=control.id,
        alpha=settings.alpha,
        min_samples_per_arm=settings.min_samples_per_arm,
        started_at=datetime.now(UTC),
        settings=settings.model_dump(),
    )
    share = (1 - settings.control_share) / len(candidates)
    named = [(CONTROL, base, settings.control_share)]
    named += [(f"candidate-{i}", choice, share) for i, choice in enumerate(choices, start=1)]
    arms = [
        ExperimentArm(
            experiment_id=experiment.id,
            arm=name,
            version_id=choice.version_id or control.id,
            weight=weight,
            agent=choice.agent,
            model=choice.model,
        )
        for name, choice, weight in named
    ]
    try:
        session.add(experiment)
        await session.flush()
        session.add_all(arms)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ExperimentAlreadyOpenError(
            f"an experiment on {category.value} prompts of {project} is open"
        ) from None
    return experiment


async def arms_of(session: AsyncSession, *, experiment_id: str) -> list[ExperimentArm]:
    query = (
        select(ExperimentArm)
        .where(ExperimentArm.experiment_id == experiment_id)
        .order_by(col(ExperimentArm.arm))
    )
    return list((await session.exec(query)).all())


async def resolve(
    session: AsyncSession, *, category: PromptCategory, project: str, run_key: str
) -> tuple[PromptVersion, str | None, str | None]:
    """The version a run uses: its arm's while an experiment runs, else the active one."""
    resolved = await resolve_arm(session, category=category, project=project, run_key=run_key)
    return resolved.version, resolved.experiment_id, resolved.arm


async def resolve_arm(
    session: AsyncSession, *, category: PromptCategory, project: str, run_key: str
) -> ResolvedArm:
    """The arm a run uses while an experiment runs (its version, agent and model), else the active
    version alone."""
    experiment = await open_experiment(session, category=category, project=project)
    if experiment is None or experiment.status != "running":
        active = await registry.active_choice(session, category=category, project=project)
        return ResolvedArm(active.version, agent=active.agent, model=active.model)
    arms = [arm for arm in await arms_of(session, experiment_id=experiment.id) if arm.stopped_at is None]
    arm_name = assign(experiment.id, run_key, [ArmWeight(arm.arm, arm.weight) for arm in arms])
    chosen = next(arm for arm in arms if arm.arm == arm_name)
    version = await registry.get_version(session, version_id=chosen.version_id)
    return ResolvedArm(version, experiment.id, arm_name, chosen.agent, chosen.model)


async def samples(session: AsyncSession, *, experiment_id: str) -> dict[str, ArmSample]:
    """Each arm's scores as they are now: a late merge changes them."""
    score = col(RunRecord.score)
    query = (
        select(RunRecord.arm, func.count(score), func.sum(score), func.sum(score * score))
        .where(RunRecord.experiment_id == experiment_id, score.is_not(None))
        .group_by(RunRecord.arm)
    )
    rows = (await session.exec(query)).all()
    return {
        arm: ArmSample(count, float(total or 0), float(squares or 0))
        for arm, count, total, squares in rows
        if arm
    }


async def summaries(session: AsyncSession, *, experiment_id: str) -> tuple[ArmSummary, ...]:
    by_arm = await samples(session, experiment_id=experiment_id)
    return tuple(
        ArmSummary(
            arm=arm.arm,
            version=arm.version_id,
            samples=by_arm.get(arm.arm, ArmSample()).n,
            mean_score=by_arm.get(arm.arm, ArmSample()).mean,
            agent=arm.agent,
            model=arm.model,
        )
        for arm in await arms_of(session, experiment_id=experiment_id)
    )


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    winner_version: str | None
    winner_arm: str | None = None


async def evaluate(
    session: AsyncSession, *, experiment_id: str, now: datetime | None = None, out_of_time: bool = False
) -> Evaluation:
    """Applies the sequential test to the scores so far; stops clearly worse arms (committed)."""
    experiment = await _get(session, experiment_id)
    settings = ExperimentSettings.model_validate(experiment.settings)
    arms = await arms_of(session, experiment_id=experiment_id)
    open_candidates = tuple(arm.arm for arm in arms if arm.arm != CONTROL and arm.stopped_at is None)
    now = now or datetime.now(UTC)
    out_of_time = out_of_time or now - experiment.started_at >= timedelta(days=settings.max_days)
    decision = decide(
        await samples(session, experiment_id=experiment_id),
        open_candidates=open_candidates,
        settings=settings,
        out_of_time=out_of_time,
        candidates_in_experiment=sum(1 for arm in arms if arm.arm != CONTROL),
    )
    for arm in arms:
        if arm.arm in decision.newly_stopped:
            arm.stopped_at = now
            arm.stop_reason = "clearly worse than the control"
            session.add(arm)
    await session.commit()
    winner = next((arm for arm in arms if arm.arm == decision.winner), None)
    if winner is None:
        return Evaluation(decision, None)
    return Evaluation(decision, winner.version_id, winner.arm)


async def conclude(
    session: AsyncSession,
    *,
    experiment_id: str,
    verdict: Verdict,
    winner_version: str | None,
    winner_arm: str | None = None,
) -> str:
    """Ends the experiment. A winner is promoted, or awaits approval when the project asks for it.
    Losing candidates are retired. Returns the decision recorded."""
    experiment = await _get(session, experiment_id)
    if experiment.status == "concluded":
        return experiment.decision or ""
    if experiment.status == "awaiting_approval":
        return "awaiting_approval"
    policy = await session.get(ProjectPolicy, experiment.project)
    arms = await arms_of(session, experiment_id=experiment_id)
    if verdict is Verdict.PROMOTE and winner_version is not None:
        experiment.winner_version, experiment.winner_arm = winner_version, winner_arm
        if policy is not None and policy.require_approval:
            experiment.status, experiment.decision = "awaiting_approval", "awaiting_approval"
            session.add(experiment)
            await session.commit()
            return "awaiting_approval"
        won = ran_with(arms, winner_arm)
        await registry.activate(
            session,
            version_id=winner_version,
            project=experiment.project,
            reason="experiment",
            experiment_id=experiment_id,
            agent=won.agent,
            model=won.model,
        )
        decision = "promoted"
    else:
        decision = "discarded" if verdict is Verdict.DISCARD else "inconclusive"
    await _close(session, experiment, arms, decision)
    return decision


async def approve(session: AsyncSession, *, experiment_id: str, approved: bool) -> str:
    """A person's answer to a winner awaiting approval."""
    experiment = await _get(session, experiment_id)
    if experiment.status != "awaiting_approval" or experiment.winner_version is None:
        raise ValueError(f"experiment {experiment_id} awaits no approval (status {experiment.status})")
    arms = await arms_of(session, experiment_id=experiment_id)
    if approved:
        won = ran_with(arms, experiment.winner_arm)
        await registry.activate(
            session,
            version_id=experiment.winner_version,
            project=experiment.project,
            reason="approval",
            experiment_id=experiment_id,
            agent=won.agent,
            model=won.model,
        )
        decision = "promoted"
    else:
        experiment.winner_version = experiment.winner_arm = None
        decision = "rejected"
    await _close(session, experiment, arms, decision)
    return decision


async def _close(
    session: AsyncSession, experiment: Experiment, arms: list[ExperimentArm], decision: str
) -> None:
    experiment.status, experiment.decision = "concluded", decision
    experiment.concluded_at = datetime.now(UTC)
    session.add(experiment)
    await session.commit()
    for arm in arms:
        if arm.version_id != experiment.winner_version and arm.arm != CONTROL:
            await registry.retire_candidate(session, version_id=arm.version_id)


async def _get(session: AsyncSession, experiment_id: str) -> Experiment:
    experiment = await session.get(Experiment, experiment_id)
    if experiment is None:
        raise LookupError(f"no experiment {experiment_id!r}")
    return experiment


async def set_policy(session: AsyncSession, *, project: str, require_approval: bool) -> None:
    policy = await session.get(ProjectPolicy, project) or ProjectPolicy(project=project)
    policy.require_approval = require_approval
    session.add(policy)
    await session.commit()
