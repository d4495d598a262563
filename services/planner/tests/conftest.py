from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import IssueRef, RepoRef
from paid_devstack.binaries import temporal_test_server_binary
from paid_devstack.postgres import EmbeddedPostgres
from paid_github_emulator import GitHubEmulator
from paid_planner.activities import PlannerActivities
from paid_planner.github import github_factory
from paid_planner.main import MIGRATIONS
from paid_planner.worker import build_worker
from paid_runtime.database import make_engine, migrate, session_factory


@dataclass(frozen=True)
class World:
    emulator: GitHubEmulator
    issue: IssueRef
    owner_token: str = "ghp_owner"
    bot_token: str = "ghs_paid_bot"
    bot: str = "paid-bot"


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    # Not under pytest's basetemp: each pytest session chmods /tmp/pytest-of-<user> to 0700 when it
    # starts, which locks out postgres (it runs as an unprivileged user) in any concurrent session.
    data_dir = Path(tempfile.mkdtemp(prefix="paid-planner-tests-pg-"))
    try:
        with EmbeddedPostgres(data_dir) as server:
            yield server
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def sessions(postgres: EmbeddedPostgres) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(postgres.url)
    await migrate(engine, schema="planner", migrations_dir=MIGRATIONS)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(temporal_test_server_binary())
    )
    yield env
    await env.shutdown()


@pytest.fixture
def world() -> Iterator[World]:
    with GitHubEmulator() as emulator:
        emulator.add_user("octo-org", "ghp_owner")
        emulator.add_user("paid-bot", "ghs_paid_bot")
        # A repository name of its own keeps workflow ids (plan:{owner}/{repo}#{issue}) unique per test.
        name = f"widgets-{uuid.uuid4().hex[:8]}"
        repository = emulator.create_repository("octo-org", name, {"README.md": "# Widgets\n"})
        emulator.set_permission("octo-org", name, "paid-bot", "write")
        created = emulator.create_issue("octo-org", name, title="Split the widget API", as_user="octo-org")
        repo = RepoRef(owner="octo-org", name=name, clone_url=repository["clone_url"])
        yield World(emulator=emulator, issue=IssueRef(repo=repo, number=created["number"]))


@pytest.fixture
def task_queue() -> str:
    return f"planner-test-{uuid.uuid4()}"


@pytest.fixture
async def worker(
    temporal: WorkflowEnvironment,
    world: World,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
) -> AsyncIterator[Worker]:
    activities = PlannerActivities(
        sessions=sessions, github=github_factory(world.emulator.api_url, world.bot_token)
    )
    async with build_worker(temporal.client, task_queue=task_queue, activities=activities) as running:
        yield running
