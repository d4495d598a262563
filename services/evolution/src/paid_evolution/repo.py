"""Runs as evolution sees them: recorded once, attributed to an experiment arm, scored and re-scored
whenever a late outcome (a merge, a closed PR, a vote) arrives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import or_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import FollowUpFinished, PullRequestClosed, ReactionAction, ReactionChanged, RunFinished
from paid_evolution.models import (
    Experiment,
    ExperimentArm,
    FollowUpRecord,
    PullRequestState,
    RunRecord,
    Vote,
)
from paid_evolution.registry import RegistryError, category_of
from paid_evolution.scoring import RunFacts, ScoreWeights, load_weights, score_run

VOTE_VALUES = {"+1": 1, "heart": 1, "hooray": 1, "rocket": 1, "-1": -1, "confused": -1}


@cache
def default_weights() -> ScoreWeights:
    return load_weights()


async def record_run(
    session: AsyncSession, *, event: RunFinished, trace_id: str | None, weights: ScoreWeights | None = None
) -> bool:
    """Stores the run once (a redelivered event changes nothing) and scores it. Returns whether added."""
    project = event.correlation.project or event.issue.repo.full_name
    try:
        category: str | None = category_of(event.prompt_version).value
    except RegistryError:
        category = None  # a prompt from outside the registry: recorded, never attributed
    started_at = datetime.fromisoformat(event.started_at)
    experiment_id, arm = await _attribute(session, category, project, event, started_at)
    values = {
        "run_id": event.run_id,
        "workflow_id": event.workflow_id,
        "repo": event.issue.repo.full_name,
        "issue": event.issue.number,
        "agent": event.agent,
        "prompt_version": event.prompt_version,
        "outcome": event.outcome.value,
        "started_at": started_at,
        "duration_seconds": event.duration_seconds,
        "iterations": event.iterations,
        "pull_request_url": event.pull_request_url,
        "pull_request_number": event.pull_request_number,
        "input_tokens": event.input_tokens,
        "output_tokens": event.output_tokens,
        "cost_usd": event.cost_usd,
        "trace_id": trace_id,
        "recorded_at": datetime.now(UTC),
        "category": category,
        "project": project,
        "detail": event.detail,
        "experiment_id": experiment_id,
        "arm": arm,
    }
    statement = insert(RunRecord).values(**values).on_conflict_do_nothing(index_elements=["run_id"])
    result = await session.exec(statement)
    await session.commit()
    added = bool(result.rowcount)
    if added:
        await rescore(session, run_ids=[event.run_id], weights=weights)
    return added


async def _attribute(
    session: AsyncSession, category: str | None, project: str, event: RunFinished, started_at: datetime
) -> tuple[str | None, str | None]:
    """The experiment arm the run used, if an experiment ran when it started: the arm the executor
    names, when it is that experiment's and the run used its version, agent and model; else (an older
    executor) the arm whose version the run used, in an experiment of prompt versions only. A run in
    an experiment of agents or models that names no arm did not use one (its agent was not allowed, or
    a trusted trigger chose above it): it is not counted."""
    if category is None:
        return None, None
    query = (
        select(Experiment.id, ExperimentArm)
        .join(ExperimentArm, col(ExperimentArm.experiment_id) == col(Experiment.id))
        .where(Experiment.category == category, Experiment.project == project)
        .where(col(Experiment.started_at) <= started_at)
        .where(or_(col(Experiment.concluded_at).is_(None), col(Experiment.concluded_at) >= started_at))
    )
    if event.experiment_id is not None and event.arm is not None:
        named = query.where(Experiment.id == event.experiment_id, ExperimentArm.arm == event.arm)
        found = (await session.exec(named)).first()
        if found is None or not _used(found[1], event):
            return None, None
        return found[0], event.arm
    by_version = query.where(ExperimentArm.version_id == event.prompt_version).order_by(
        col(Experiment.started_at).desc()
    )
    row = (await session.exec(by_version)).first()
    if row is None:
        return None, None
    arms = await session.exec(select(ExperimentArm).where(ExperimentArm.experiment_id == row[0]))
    if any(arm.agent is not None or arm.model is not None for arm in arms.all()):
        return None, None
    return row[0], row[1].arm


def _used(arm: ExperimentArm, event: RunFinished) -> bool:
    return (
        arm.version_id == event.prompt_version
        and arm.agent in (None, event.agent)
        and arm.model in (None, event.model)
    )


async def record_pull_request_closed(
    session: AsyncSession, *, event: PullRequestClosed, weights: ScoreWeights | None = None
) -> list[str]:
    """Keeps the PR's end (even before its run is known) and re-scores the runs that opened it."""
    repo_name = event.repo.full_name
    state = "merged" if event.merged else "closed"
    await session.exec(
        insert(PullRequestState)
        .values(repo=repo_name, number=event.number, state=state, at=event.occurred_at)
        .on_conflict_do_update(
            index_elements=["repo", "number"], set_={"state": state, "at": event.occurred_at}
        )
    )
    await session.commit()
    runs = await session.exec(
        select(RunRecord.run_id).where(
            RunRecord.repo == repo_name, RunRecord.pull_request_number == event.number
        )
    )
    run_ids = list(runs.all())
    await rescore(session, run_ids=run_ids, weights=weights)
    return run_ids


async def record_follow_up(
    session: AsyncSession, *, event: FollowUpFinished, weights: ScoreWeights | None = None
) -> list[str] | None:
    """Keeps the pull request's rounds (even before its run is known) and re-scores the runs that opened
    it. None when the summary was already known (a redelivery): nothing changes."""
    repo_name = event.issue.repo.full_name
    result = await session.exec(
        insert(FollowUpRecord)
        .values(
            repo=repo_name,
            number=event.pull_request_number,
            event_id=event.event_id,
            rounds=dict(event.rounds),
            rounds_without_push=event.rounds_without_push,
            ci_stopped=event.ci_stopped,
            at=event.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["repo", "number"])
    )
    await session.commit()
    if not result.rowcount:
        return None
    runs = await session.exec(
        select(RunRecord.run_id).where(
            RunRecord.repo == repo_name, RunRecord.pull_request_number == event.pull_request_number
        )
    )
    run_ids = list(runs.all())
    await rescore(session, run_ids=run_ids, weights=weights)
    return run_ids


async def record_reaction(
    session: AsyncSession, *, event: ReactionChanged, weights: ScoreWeights | None = None
) -> list[str]:
    """A thumbs up/down (and the like) on a run's issue, PR or comment counts as a vote; others do not."""
    value = VOTE_VALUES.get(event.content)
    if value is None:
        return []
    repo_name = event.repo.full_name
    if event.action is ReactionAction.REMOVED:
        await session.exec(delete(Vote).where(col(Vote.reaction_id) == event.reaction_id))
    else:
        await session.exec(
            insert(Vote)
            .values(
                reaction_id=event.reaction_id,
                repo=repo_name,
                number=event.number,
                actor=event.actor,
                value=value,
                at=event.occurred_at,
            )
            .on_conflict_do_nothing(index_elements=["reaction_id"])
        )
    await session.commit()
    runs = await session.exec(
        select(RunRecord.run_id).where(
            RunRecord.repo == repo_name,
            or_(col(RunRecord.issue) == event.number, col(RunRecord.pull_request_number) == event.number),
        )
    )
    run_ids = list(runs.all())
    await rescore(session, run_ids=run_ids, weights=weights)
    return run_ids


async def rescore(session: AsyncSession, *, run_ids: list[str], weights: ScoreWeights | None = None) -> None:
    weights = weights or default_weights()
    for run_id in run_ids:
        run = await session.get(RunRecord, run_id)
        if run is None:
            continue
        state, ended, follow_up = None, None, None
        if run.pull_request_number is not None:
            ended = await session.get(PullRequestState, (run.repo, run.pull_request_number))
            state = ended.state if ended else "open"
            follow_up = await session.get(FollowUpRecord, (run.repo, run.pull_request_number))
        numbers = [run.issue] + ([run.pull_request_number] if run.pull_request_number else [])
        votes = (
            await session.exec(select(Vote.value).where(Vote.repo == run.repo, col(Vote.number).in_(numbers)))
        ).all()
        facts = RunFacts(
            outcome=run.outcome,
            pull_request_state=state,
            votes_up=sum(1 for v in votes if v > 0),
            votes_down=sum(1 for v in votes if v < 0),
            iterations=run.iterations,
            cost_usd=run.cost_usd,
            **_follow_up_facts(run, follow_up, ended),
        )
        run.score = score_run(facts, weights)
        run.pull_request_state = state
        run.scored_at = datetime.now(UTC)
        session.add(run)
    await session.commit()


def _follow_up_facts(
    run: RunRecord, follow_up: FollowUpRecord | None, ended: PullRequestState | None
) -> dict[str, Any]:
    """The follow-up part of a run's facts; none without a summary, so such a run scores as before."""
    if follow_up is None:
        return {}
    hours_to_merge = None
    if ended is not None and ended.state == "merged":
        run_end = run.started_at + timedelta(seconds=run.duration_seconds)
        hours_to_merge = (ended.at - run_end).total_seconds() / 3600
    return {
        "follow_up_rounds": sum(follow_up.rounds.values()),
        "ci_stopped": follow_up.ci_stopped,
        "hours_to_merge": hours_to_merge,
    }


async def get_run(session: AsyncSession, *, run_id: str) -> RunRecord | None:
    return await session.get(RunRecord, run_id)


async def list_runs(session: AsyncSession, *, repo: str | None = None) -> list[RunRecord]:
    query = select(RunRecord).order_by(col(RunRecord.recorded_at))
    if repo is not None:
        query = query.where(RunRecord.repo == repo)
    return list((await session.exec(query)).all())
