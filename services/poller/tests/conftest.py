from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import WorkflowEnvironment

from paid_devstack.nats import NatsServer
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.test_servers import scratch_postgres, time_skipping_environment
from paid_github_emulator import GitHubEmulator
from paid_poller.activities import PollerActivities
from paid_poller.github import http_factory
from paid_poller.main import MIGRATIONS
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.messaging import ensure_streams, make_broker, publish_event
from paid_runtime.secretbox import SecretBox, generate_key

OWNER = "octo-org"
TOKEN = "ghs_paid_poller"


@dataclass(frozen=True)
class World:
    emulator: GitHubEmulator
    owner: str
    name: str
    token: str = TOKEN

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def requests_counted(self) -> int:
        return self.emulator.rate_limit_usage(self.token).used


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    with scratch_postgres("poller") as server:
        yield server


@pytest.fixture(scope="session")
async def sessions(postgres: EmbeddedPostgres) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(postgres.url)
    await migrate(engine, schema="poller", migrations_dir=MIGRATIONS)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await time_skipping_environment()
    yield env
    await env.shutdown()


@pytest.fixture
def world() -> Iterator[World]:
    """A repository of its own per test (poll state and workflow ids are keyed on it) with one issue."""
    with GitHubEmulator() as emulator:
        emulator.add_user(OWNER, "ghp_owner")
        emulator.add_user("paid-poller", TOKEN)
        name = f"widgets-{uuid.uuid4().hex[:8]}"
        emulator.create_repository(OWNER, name, {"README.md": "# Widgets\n"})
        emulator.create_issue(OWNER, name, title="First issue", as_user=OWNER)
        yield World(emulator=emulator, owner=OWNER, name=name)


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats"), sync_always=False) as server:
        server.provision_streams()  # as `paid up` does: the service processes started here wait for them
        yield server


@pytest.fixture(scope="session")
async def broker(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_server.url, "poller-tests")
    await broker.connect()
    await ensure_streams(broker)
    yield broker
    await broker.stop()


@pytest.fixture
def activities(
    world: World, sessions: async_sessionmaker[AsyncSession], broker: NatsBroker
) -> PollerActivities:
    return PollerActivities(
        sessions=sessions,
        http=http_factory(world.emulator.api_url),
        publish=functools.partial(publish_event, broker),
        box=SecretBox([generate_key()]),
        default_token=world.token,
    )
