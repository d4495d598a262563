"""Outcomes written as the other services report them, for the evolution tests of both trees (the
service's own and tests/integration): a finished run, its pull request's end, and an experiment fed with
runs. Data only; no server is started here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import (
    IssueRef,
    PromptCategory,
    PullRequestClosed,
    RepoRef,
    RunFinished,
    RunOutcome,
    TriggerSource,
)
from paid_evolution import experiments, repo

FAILING_DETAIL = "the tests still fail: test_add expected 5, got -1"


async def record_outcome(
    sessions: async_sessionmaker[AsyncSession], project: str, *, version: str, merged: bool, number: int
) -> None:
    """A finished run as the executor reports it (succeeded, or its tests failing) and the end of its
    pull request as the gateway reports it (merged, or closed unmerged)."""
    owner, name = project.split("/")
    async with sessions() as session:
        await repo.record_run(
            session,
            trace_id=None,
            event=RunFinished(
                producer="executor",
                run_id=str(uuid.uuid4()),
                workflow_id=f"exec:{project}#{number}:1",
                issue=IssueRef(repo=RepoRef(owner=owner, name=name), number=number),
                agent="demo",
                prompt_version=version,
                outcome=RunOutcome.SUCCEEDED if merged else RunOutcome.TESTS_FAILING,
                started_at=datetime.now(UTC).isoformat(),
                duration_seconds=30,
                iterations=1 if merged else 3,
                pull_request_number=number,
                detail="" if merged else FAILING_DETAIL,
            ),
        )
        await repo.record_pull_request_closed(
            session,
            event=PullRequestClosed(
                producer="gateway",
                repo=RepoRef(owner=owner, name=name),
                number=number,
                merged=merged,
                head_ref=f"paid/issue-{number}",
                source=TriggerSource.WEBHOOK,
                source_id=str(uuid.uuid4()),
            ),
        )


async def experiment_is_open(sessions: async_sessionmaker[AsyncSession], project: str) -> bool:
    async with sessions() as session:
        found = await experiments.open_experiment(session, category=PromptCategory.CODING, project=project)
    return found is not None


async def feed_experiment(
    sessions: async_sessionmaker[AsyncSession], project: str, *, runs: int, winning_arm: str
) -> dict[str, str]:
    """Into the project's open coding experiment: runs resolved as the executor resolves them, the
    winning arm's merged, the others' failing. Returns each arm's version."""
    versions: dict[str, str] = {}
    for number in range(1, runs + 1):
        async with sessions() as session:
            version, _, arm = await experiments.resolve(
                session, category=PromptCategory.CODING, project=project, run_key=f"exec:{project}#{number}:1"
            )
        assert arm is not None, "every run during an experiment gets an arm"
        versions[arm] = version.id
        await record_outcome(
            sessions, project, version=version.id, merged=arm == winning_arm, number=1000 + number
        )
    return versions
