"""A run records its prompt version; outcomes arriving later (a merge a week on, a vote) change its score
and its experiment's statistics. Real NATS JetStream, real PostgreSQL, evolution's own subscribers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import (
    IssueRef,
    PromptCategory,
    PullRequestClosed,
    ReactionChanged,
    RepoRef,
    RunFinished,
    RunOutcome,
    TriggerSource,
)
from paid_evolution import experiments, registry, repo
from paid_evolution.decisions import ExperimentSettings
from paid_evolution.models import PullRequestState, RunRecord
from paid_prompt_client import PromptClient
from paid_runtime.messaging import publish_event

pytestmark = pytest.mark.integration
T = TypeVar("T")
CODING = PromptCategory.CODING


async def eventually(probe: Callable[[], Awaitable[T | None]], *, what: str, timeout: float = 20) -> T:
    deadline = asyncio.get_running_loop().time() + timeout
    while (value := await probe()) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def test_a_merge_a_week_later_changes_the_runs_score_and_the_experiments_statistics(
    evolution: NatsBroker, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession], project: str
) -> None:
    owner, name = project.split("/")
    async with sessions() as session:
        candidate = await registry.register_version(
            session,
            category=CODING,
            template="{{ repo }} #{{ number }} on {{ branch }}: {{ title }}\n{{ body }}\nTest first.",
            variables=("repo", "branch", "number", "title", "body"),
            parent_id="coding@1",
            reason="test",
        )
        experiment = await experiments.start_experiment(
            session,
            category=CODING,
            project=project,
            candidates=[candidate.id],
            settings=ExperimentSettings(),
        )

    # What the executor does: resolve the prompt for its run key, run, report the version it used.
    run_key = f"exec:{project}#4:1"
    prompt = await PromptClient(broker.connection, timeout=5).resolve(
        CODING, project=project, run_key=run_key
    )
    started = datetime.now(UTC)
    run_id = str(uuid.uuid4())
    await publish_event(
        broker,
        RunFinished(
            producer="executor",
            run_id=run_id,
            workflow_id=run_key,
            issue=IssueRef(repo=RepoRef(owner=owner, name=name), number=4),
            agent="demo",
            prompt_version=prompt.version,
            outcome=RunOutcome.SUCCEEDED,
            started_at=started.isoformat(),
            duration_seconds=12.0,
            iterations=1,
            pull_request_url=f"https://github.com/{project}/pull/9",
            pull_request_number=9,
            cost_usd=0.5,
        ),
    )

    async def scored_run() -> RunRecord | None:
        async with sessions() as session:
            run = await repo.get_run(session, run_id=run_id)
            return run if run is not None and run.score is not None else None

    run = await eventually(scored_run, what="the run to be recorded and scored")
    assert (run.prompt_version, run.experiment_id, run.arm) == (prompt.version, experiment.id, prompt.arm)
    assert run.pull_request_state == "open"
    first_score = run.score
    assert first_score is not None
    async with sessions() as session:
        before = (await experiments.samples(session, experiment_id=experiment.id))[prompt.arm or ""]
    assert before.n == 1
    assert before.mean == pytest.approx(first_score)

    week_later = started + timedelta(days=7)
    await publish_event(
        broker,
        PullRequestClosed(
            producer="gateway",
            occurred_at=week_later,
            repo=RepoRef(owner=owner, name=name),
            number=9,
            merged=True,
            head_ref="paid/issue-4",
            closes=(4,),
            source=TriggerSource.WEBHOOK,
            source_id=str(uuid.uuid4()),
        ),
    )

    async def rescored() -> RunRecord | None:
        current = await scored_run()
        return current if current is not None and current.pull_request_state == "merged" else None

    merged = await eventually(rescored, what="the merge to re-score the run")
    merged_score = merged.score
    assert merged_score is not None
    assert merged_score > first_score
    async with sessions() as session:
        after = (await experiments.samples(session, experiment_id=experiment.id))[prompt.arm or ""]
    assert after.n == 1
    assert after.mean == pytest.approx(merged.score)

    # A reviewer's thumbs-down on the pull request lowers it again.
    await publish_event(
        broker,
        ReactionChanged(
            producer="gateway",
            repo=RepoRef(owner=owner, name=name),
            number=9,
            content="-1",
            actor="bob",
            reaction_id=int(uuid.uuid4().int % 2**62),
            source=TriggerSource.WEBHOOK,
            source_id=str(uuid.uuid4()),
        ),
    )

    async def voted() -> RunRecord | None:
        current = await scored_run()
        return (
            current
            if current is not None and current.score is not None and current.score < merged_score
            else None
        )

    assert (await eventually(voted, what="the vote to re-score the run")).score is not None


async def test_a_merge_that_arrives_before_its_run_is_not_lost(
    evolution: NatsBroker, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession], project: str
) -> None:
    owner, name = project.split("/")
    await publish_event(
        broker,
        PullRequestClosed(
            producer="poller",
            repo=RepoRef(owner=owner, name=name),
            number=3,
            merged=False,
            head_ref="paid/issue-1",
            source=TriggerSource.POLL,
            source_id=str(uuid.uuid4()),
        ),
    )
    async with sessions() as session:
        await eventually(
            lambda: session.get(PullRequestState, (project, 3)),
            what="the closed pull request to be kept",
        )
        await repo.record_run(
            session,
            trace_id=None,
            event=RunFinished(
                producer="executor",
                run_id=str(uuid.uuid4()),
                workflow_id="w",
                agent="demo",
                issue=IssueRef(repo=RepoRef(owner=owner, name=name), number=1),
                prompt_version="coding@1",
                outcome=RunOutcome.SUCCEEDED,
                started_at=datetime.now(UTC).isoformat(),
                duration_seconds=1,
                iterations=1,
                pull_request_number=3,
            ),
        )
        runs = await repo.list_runs(session, repo=project)
    assert [(r.pull_request_state, r.experiment_id) for r in runs] == [("closed", None)]
