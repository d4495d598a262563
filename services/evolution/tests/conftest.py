"""Real servers for evolution's tests: an embedded PostgreSQL migrated and seeded, NATS JetStream."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_devstack.nats import NatsServer
from paid_devstack.postgres import EmbeddedPostgres
from paid_evolution import registry, subscribers
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.messaging import ensure_streams, make_broker

MIGRATIONS = Path(__file__).resolve().parents[1] / "src" / "paid_evolution" / "migrations"


@pytest.fixture(scope="session")
def data_root() -> Iterator[Path]:
    """Outside pytest's tmp root, which pytest runs started elsewhere on the machine prune (keeping 3),
    and which it makes 0700, out of reach of the embedded PostgreSQL's unprivileged user."""
    root = Path(tempfile.mkdtemp(prefix="paid-evolution-tests-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(data_root: Path) -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(data_root / "postgres") as server:
        yield server


@pytest.fixture(scope="session")
def nats_server(data_root: Path) -> Iterator[NatsServer]:
    with NatsServer(data_root / "nats", sync_always=False) as server:
        yield server


@pytest.fixture(scope="session")
async def engine(postgres: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(postgres.url)
    await migrate(engine, schema="evolution", migrations_dir=MIGRATIONS)
    async with session_factory(engine)() as session:
        await registry.seed_defaults(session)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@pytest.fixture
def project() -> str:
    """A project of its own per test: experiments and active prompts never leak between tests."""
    return f"acme/repo-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def broker(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_server.url, "evolution-test")
    await broker.connect()
    await ensure_streams(broker)
    yield broker
    await broker.stop()


@pytest.fixture
async def evolution(
    nats_server: NatsServer, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[NatsBroker]:
    """Evolution's subscribers on the session's NATS server."""
    broker = make_broker(nats_server.url, "evolution")
    subscribers.register(broker, sessions)
    await broker.connect()
    await ensure_streams(broker)
    await broker.start()
    yield broker
    await broker.stop()
