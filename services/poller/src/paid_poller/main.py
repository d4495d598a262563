"""Entry point: `paid-poller`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from paid_poller.activities import PollerActivities
from paid_poller.config import PollerSettings
from paid_poller.github import http_factory
from paid_poller.polls import ensure_polling
from paid_poller.worker import build_worker
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.host import ServiceHost
from paid_runtime.http import health_app, make_server
from paid_runtime.logs import setup_logging
from paid_runtime.readiness import database_ready, temporal_ready
from paid_runtime.telemetry import setup_tracing
from paid_runtime.temporal import connect_temporal

SERVICE = "poller"
MIGRATIONS = Path(__file__).parent / "migrations"


async def serve(settings: PollerSettings) -> None:
    setup_logging(SERVICE, settings.log_level)
    setup_tracing(SERVICE, settings.otlp_endpoint)
    engine = make_engine(settings.database_url)
    await migrate(engine, schema=settings.db_schema, migrations_dir=MIGRATIONS)
    client = await connect_temporal(settings.temporal_target, settings.temporal_namespace)
    activities = PollerActivities(
        sessions=session_factory(engine), http=http_factory(settings.github_api_url, settings.github_token)
    )
    worker = build_worker(
        client,
        task_queue=settings.task_queue,
        activities=activities,
        graceful_shutdown_seconds=settings.graceful_shutdown_seconds,
    )
    await ensure_polling(
        client,
        repositories=settings.repositories,
        interval_seconds=settings.poll_interval_seconds,
        cycles_per_run=settings.cycles_per_run,
        task_queue=settings.task_queue,
    )
    # No NATS yet: the poller publishes nothing until polling is turned into events.
    checks = {"database": database_ready(engine), "temporal": temporal_ready(client)}
    http = make_server(health_app(SERVICE, checks), settings.http_host, settings.http_port)
    host = ServiceHost(SERVICE)
    host.on_stop(engine.dispose)
    await host.run(http=http, worker=worker)


def main() -> None:
    asyncio.run(serve(PollerSettings()))
