"""A pull request's follow-up rounds (paid.run.follow_up_finished) reach evolution's own table over real
NATS JetStream and PostgreSQL, lower the score of the run that needed them, and count once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import (
    FollowUpFinished,
    IssueRef,
    PullRequestClosed,
    RepoRef,
    RunFinished,
    RunOutcome,
    TriggerSource,
    follow_up_event_id,
)
from paid_evolution import repo
from paid_evolution.models import FollowUpRecord, RunRecord
from paid_runtime.messaging import publish_event

pytestmark = pytest.mark.integration


def follow_up(repo_ref: RepoRef, number: int, **rounds: int) -> FollowUpFinished:
    return FollowUpFinished(
        event_id=follow_up_event_id(f"pr:{repo_ref.full_name}#{number}"),
        producer="executor",
        issue=IssueRef(repo=repo_ref, number=number - 100),
        pull_request_number=number,
        rounds=rounds,
        rounds_without_push=0,
        ci_stopped=False,
    )


async def merged_run(session: AsyncSession, repo_ref: RepoRef, number: int) -> str:
    run_id = str(uuid.uuid4())
    finished = datetime.now(UTC) - timedelta(hours=2)
    await repo.record_run(
        session,
        trace_id=None,
        event=RunFinished(
            producer="executor",
            run_id=run_id,
            workflow_id=f"exec:{repo_ref.full_name}#{number - 100}:1",
            agent="demo",
            issue=IssueRef(repo=repo_ref, number=number - 100),
            prompt_version="coding@1",
            outcome=RunOutcome.SUCCEEDED,
            started_at=finished.isoformat(),
            duration_seconds=60,
            iterations=1,
            pull_request_number=number,
        ),
    )
    await repo.record_pull_request_closed(
        session,
        event=PullRequestClosed(
            producer="gateway",
            repo=repo_ref,
            number=number,
            merged=True,
            head_ref=f"paid/issue-{number - 100}",
            source=TriggerSource.WEBHOOK,
            source_id=str(uuid.uuid4()),
        ),
    )
    return run_id


async def test_rounds_lower_the_score_of_the_run_that_needed_them_and_count_once(
    evolution: NatsBroker, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession], project: str
) -> None:
    owner, name = project.split("/")
    repo_ref = RepoRef(owner=owner, name=name)
    async with sessions() as session:
        reviewed = await merged_run(session, repo_ref, 105)
        clean = await merged_run(session, repo_ref, 106)
    summary = follow_up(repo_ref, 105, review=3)
    await publish_event(broker, summary)

    deadline = asyncio.get_running_loop().time() + 20
    while True:
        async with sessions() as session:
            stored = await session.get(FollowUpRecord, (project, 105))
            run = await session.get(RunRecord, reviewed)
            if stored is not None and run is not None and run.scored_at and run.scored_at > stored.at:
                break
        assert asyncio.get_running_loop().time() < deadline, "the follow-up rounds never reached evolution"
        await asyncio.sleep(0.05)
    assert stored.rounds == {"review": 3}
    assert stored.event_id == summary.event_id

    async with sessions() as session:
        scores = {r.run_id: r.score for r in await repo.list_runs(session, repo=project)}
        assert scores[reviewed] is not None
        assert scores[clean] is not None
        assert scores[reviewed] < scores[clean]
        # Redelivered, or the same conversation summed up again (a replay): nothing changes.
        assert await repo.record_follow_up(session, event=summary) is None
        again = follow_up(repo_ref, 105, review=0)
        assert await repo.record_follow_up(session, event=again) is None
        after = await session.get(RunRecord, reviewed)
    assert after is not None
    assert after.score == scores[reviewed]


async def test_a_summary_that_arrives_before_its_run_is_not_lost(
    sessions: async_sessionmaker[AsyncSession], project: str
) -> None:
    owner, name = project.split("/")
    repo_ref = RepoRef(owner=owner, name=name)
    async with sessions() as session:
        assert await repo.record_follow_up(session, event=follow_up(repo_ref, 107, ci=2)) == []
        run_id = await merged_run(session, repo_ref, 107)
        with_rounds = await session.get(RunRecord, run_id)
        clean = await session.get(RunRecord, await merged_run(session, repo_ref, 108))
    assert with_rounds is not None
    assert clean is not None
    assert with_rounds.score is not None
    assert clean.score is not None
    assert with_rounds.score < clean.score
