"""Entry point: `paid-evolution`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from paid_evolution import registry, subscribers
from paid_evolution.config import EvolutionSettings
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.host import ServiceHost
from paid_runtime.http import health_app, make_server
from paid_runtime.logs import setup_logging
from paid_runtime.messaging import make_broker
from paid_runtime.readiness import database_ready, nats_ready
from paid_runtime.telemetry import setup_tracing

SERVICE = "evolution"
MIGRATIONS = Path(__file__).parent / "migrations"


async def serve(settings: EvolutionSettings) -> None:
    setup_logging(SERVICE, settings.log_level)
    setup_tracing(SERVICE, settings.otlp_endpoint)
    engine = make_engine(settings.database_url)
    await migrate(engine, schema=settings.db_schema, migrations_dir=MIGRATIONS)
    sessions = session_factory(engine)
    async with sessions() as session:
        await registry.seed_defaults(session)
    broker = make_broker(settings.nats_url, SERVICE)
    subscribers.register(broker, sessions)
    checks = {"nats": nats_ready(broker), "database": database_ready(engine)}
    http = make_server(health_app(SERVICE, checks), settings.http_host, settings.http_port)
    host = ServiceHost(SERVICE)
    host.on_stop(engine.dispose)
    await host.run(http=http, broker=broker)


def main() -> None:
    asyncio.run(serve(EvolutionSettings()))
