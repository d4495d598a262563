"""Entry point: `paid-poller`."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from paid_contracts import LabelMapping
from paid_poller.activities import PollerActivities
from paid_poller.config import PollerSettings
from paid_poller.github import http_factory
from paid_poller.polls import ensure_polling
from paid_poller.subscribers import register
from paid_poller.worker import build_worker
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.github_credentials import GitHubCredentials
from paid_runtime.host import host_service
from paid_runtime.http import health_app
from paid_runtime.logs import setup_logging
from paid_runtime.messaging import make_broker, publish_event
from paid_runtime.readiness import dependency_checks
from paid_runtime.secretbox import secret_box
from paid_runtime.telemetry import instrument_http_clients, setup_tracing
from paid_runtime.temporal import connect_service_temporal
from paid_runtime.temporal_access import refusal_exits_at_once, temporal_access

SERVICE = "poller"
MIGRATIONS = Path(__file__).parent / "migrations"


async def serve(settings: PollerSettings) -> None:
    setup_logging(SERVICE, settings.log_level)
    access = temporal_access(settings, SERVICE)  # a bad certificate or key stops here, in one line
    setup_tracing(SERVICE, settings.otlp_endpoint)
    instrument_http_clients()
    client = await connect_service_temporal(access, SERVICE)  # refused: exits before the database
    engine = make_engine(settings.database_url)
    await migrate(engine, schema=settings.db_schema, migrations_dir=MIGRATIONS)
    sessions = session_factory(engine)
    broker = make_broker(
        settings.nats_url,
        SERVICE,
        user=settings.nats_user,
        password=settings.nats_password,
        replicas=settings.nats_replicas,
    )
    activities = PollerActivities(
        sessions=sessions,
        http=http_factory(settings.github_api_url),
        publish=functools.partial(publish_event, broker),
        box=secret_box(settings.secrets_keys, environment=settings.environment),
        default_token=settings.github_token,
        default_labels=LabelMapping(build=settings.build_label, plan=settings.plan_label),
        credentials=GitHubCredentials.from_settings(settings, lambda: broker.connection),
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
    register(broker, client, sessions, settings)
    checks = dependency_checks(broker, engine, client)
    app = health_app(SERVICE, checks)
    listen = (settings.http_host, settings.http_port)
    await host_service(SERVICE, app, listen=listen, engine=engine, broker=broker, worker=worker)


def main() -> None:
    with refusal_exits_at_once():
        asyncio.run(serve(PollerSettings()))
