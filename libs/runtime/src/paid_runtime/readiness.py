"""Readiness probes for the three servers every service depends on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faststream.nats import NatsBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client


def nats_ready(broker: NatsBroker) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(await broker.ping(timeout=1.0))

    return check


def database_ready(engine: AsyncEngine) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        async with engine.connect() as conn:
            return bool((await conn.execute(text("SELECT 1"))).scalar_one() == 1)

    return check


def temporal_ready(client: Client) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await client.service_client.check_health()

    return check


def dependency_checks(
    broker: NatsBroker, engine: AsyncEngine, client: Client | None = None
) -> dict[str, Callable[[], Awaitable[bool]]]:
    """`/readyz`'s checks for a service on NATS and its database, and Temporal when it runs a worker."""
    checks = {"nats": nats_ready(broker), "database": database_ready(engine)}
    if client is not None:
        checks["temporal"] = temporal_ready(client)
    return checks
