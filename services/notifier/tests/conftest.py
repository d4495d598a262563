from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.test_servers import scratch_postgres
from paid_notifier.main import MIGRATIONS
from paid_runtime.database import make_engine, migrate


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    with scratch_postgres("notifier") as server:
        yield server


@pytest.fixture
async def engine(postgres: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    """The notifier's tables, migrated and empty: each test routes only to its own channels."""
    engine = make_engine(postgres.url)
    await migrate(engine, schema="notifier", migrations_dir=MIGRATIONS)
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE notifier.channels, notifier.deliveries"))
    yield engine
    await engine.dispose()
