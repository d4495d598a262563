"""The real evolution service, assembled in this process for the dashboard's browser test: its HTTP API
(the routes the gateway forwards to) on a real port, its Temporal worker with the real
PromptEvolutionWorkflow and activities, a migrated and seeded PostgreSQL and NATS JetStream. Temporal is
the time-skipping test server, so the experiment's daily checks pass in seconds. Only the language model
that writes candidates is a double (a fixed rewrite of the template)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import WorkflowEnvironment

from paid_contracts import (
    IssueRef,
    PromptCategory,
    PullRequestClosed,
    RepoRef,
    RunFinished,
    RunOutcome,
    TriggerSource,
)
from paid_devstack import free_port, wait_until_async
from paid_devstack.test_servers import time_skipping_environment
from paid_evolution import api, experiments, registry, repo
from paid_evolution.activities import EvolutionDeps
from paid_evolution.main import MIGRATIONS
from paid_evolution.params import MutationInput
from paid_evolution.worker import make_worker
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.http import make_server

INTERNAL_TOKEN = "internal-token-shared-by-gateway-and-evolution"
CANDIDATE_LINE = "Run the whole test suite before you stop, and say which tests you ran."


class FixedRewrite:
    """Stands in for the model that writes candidates: each keeps the template and adds one line."""

    async def generate(self, request: MutationInput) -> list[str]:
        return [f"{request.template}\n{CANDIDATE_LINE} ({i})\n" for i in range(request.count)]


@dataclass
class RunningEvolution:
    url: str
    sessions: async_sessionmaker[AsyncSession]
    env: WorkflowEnvironment
    task_queue: str


@asynccontextmanager
async def evolution_service(database_url: str, broker: NatsBroker) -> AsyncIterator[RunningEvolution]:
    async with await time_skipping_environment() as env, _serving(database_url, broker, env) as running:
        yield running


@asynccontextmanager
async def _serving(
    database_url: str, broker: NatsBroker, env: WorkflowEnvironment
) -> AsyncIterator[RunningEvolution]:
    engine = make_engine(database_url)
    await migrate(engine, schema="evolution", migrations_dir=MIGRATIONS)
    sessions = session_factory(engine)
    async with sessions() as session:
        await registry.seed_defaults(session)
    task_queue = f"evolution-dashboard-{uuid.uuid4()}"
    deps = EvolutionDeps(
        sessions=sessions, broker=broker, generator=FixedRewrite(), client=env.client, task_queue=task_queue
    )
    app = api.mount(FastAPI(), sessions, token=INTERNAL_TOKEN, broker=broker, temporal=env.client)
    port = free_port()
    server = make_server(app, "127.0.0.1", port)
    serving = asyncio.create_task(server.serve())
    try:
        await wait_until_async(lambda: server.started, timeout=10, what="evolution's HTTP server")
        async with make_worker(env.client, deps):
            yield RunningEvolution(f"http://127.0.0.1:{port}", sessions, env, task_queue)
    finally:
        server.should_exit = True
        await serving
        await engine.dispose()


async def record_outcome(
    sessions: async_sessionmaker[AsyncSession], project: str, *, version: str, merged: bool, number: int
) -> None:
    """A finished run as the executor reports it, and its pull request's end as the gateway does."""
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
                detail="" if merged else "the tests still fail",
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


async def feed_experiment(
    sessions: async_sessionmaker[AsyncSession], project: str, *, runs: int, winning_arm: str
) -> dict[str, str]:
    """Runs resolved as the executor resolves them: the winning arm's pull requests merge, the others'
    do not. Returns each arm's version."""

    async def opened() -> bool:
        async with sessions() as session:
            found = await experiments.open_experiment(
                session, category=PromptCategory.CODING, project=project
            )
        return found is not None

    await wait_until_async(opened, timeout=30, what="the experiment to start")
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
