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

from fastapi import FastAPI
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import WorkflowEnvironment

from paid_devstack import free_port, wait_until_async
from paid_devstack.test_servers import time_skipping_environment
from paid_evolution import api, registry
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
