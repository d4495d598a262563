"""Async database access and per-service schema migrations (Alembic, one version table per schema)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import column, select, text
from sqlalchemy import table as table_clause
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_runtime.startup import until_available


def async_url(url: str) -> str:
    """Accepts libpq URLs (postgresql://...) and gives SQLAlchemy's asyncpg form."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def make_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(async_url(url), pool_size=pool_size, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def migrate(engine: AsyncEngine, *, schema: str, migrations_dir: Path) -> list[str]:
    """Brings `schema` to the newest revision in `migrations_dir` (which holds Alembic's `versions/`).

    Returns the revisions applied. Safe to run concurrently from several replicas: a transaction-level
    advisory lock keyed on the schema serialises them. Waits for the database while it is not up yet.
    """
    await until_available("PostgreSQL", lambda: _ping(engine))
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": f"paid:{schema}"})
        # A service's role owns its schema but may not create schemas (`paid_runtime.database_roles`);
        # PostgreSQL checks that right even for `CREATE SCHEMA IF NOT EXISTS`, so look first.
        found = await conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema})
        if found is None:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        elif (head := newest_revision(migrations_dir)) is not None and await _applied(conn, schema) == {head}:
            return []  # already at the head: Alembic (about 11 MiB resident) is never imported
        return await conn.run_sync(_upgrade, schema, migrations_dir)


_REVISION = re.compile(r"^(down_revision|revision)\b[^=\n]*=\s*(?:\"([^\"]+)\"|'([^']+)'|None)", re.MULTILINE)


def newest_revision(migrations_dir: Path) -> str | None:
    """The head of `migrations_dir/versions` when its revisions form one line, read from the files'
    `revision` and `down_revision` assignments; None for anything else (merges, branches, a tuple),
    which Alembic itself then reads."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (migrations_dir / "versions").glob("*.py"):
        found = dict.fromkeys(("revision", "down_revision"), "")
        for name, double, single in _REVISION.findall(script.read_text()):
            found[name] = double or single or "None"
        if not found["revision"] or not found["down_revision"]:
            return None  # not a revision file this reading understands
        revisions.add(found["revision"])
        if found["down_revision"] != "None":
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


async def _applied(conn: AsyncConnection, schema: str) -> set[str]:
    table = await conn.scalar(text("SELECT to_regclass(:t)"), {"t": f'"{schema}".alembic_version'})
    if table is None:
        return set()
    versions = table_clause("alembic_version", column("version_num"), schema=schema)
    return set((await conn.scalars(select(versions.c.version_num))).all())


async def _ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def _upgrade(connection: Connection, schema: str, migrations_dir: Path) -> list[str]:
    from alembic.config import Config
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    script = ScriptDirectory.from_config(config)
    applied: list[str] = []

    def upgrade(revision: Any, _context: Any) -> Iterable[Any]:
        steps = script._upgrade_revs("head", revision)
        applied.extend(step.revision.revision for step in steps)
        return steps

    with EnvironmentContext(config, script, fn=upgrade, destination_rev="head") as env:
        env.configure(
            connection=connection,
            version_table="alembic_version",
            version_table_schema=schema,
            target_metadata=None,
        )
        connection.execute(text(f'SET LOCAL search_path TO "{schema}"'))
        with env.begin_transaction():
            env.run_migrations()
    return applied
