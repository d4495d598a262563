"""Entry point: `paid-planner`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from paid_contracts import Event
from paid_llm import make_client
from paid_planner import subscribers
from paid_planner.activities import PlannerActivities
from paid_planner.config import PlannerSettings
from paid_planner.github import github_factory
from paid_planner.worker import build_worker
from paid_runtime import telemetry
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.github_credentials import GitHubCredentials
from paid_runtime.host import host_service
from paid_runtime.http import health_app
from paid_runtime.logs import setup_logging
from paid_runtime.messaging import make_broker, publish_event
from paid_runtime.readiness import dependency_checks
from paid_runtime.telemetry import setup_tracing
from paid_runtime.temporal import connect_service_temporal
from paid_runtime.temporal_access import refusal_exits_at_once, temporal_access

SERVICE = "planner"
MIGRATIONS = Path(__file__).parent / "migrations"


async def serve(settings: PlannerSettings) -> None:
    setup_logging(SERVICE, settings.log_level)
    access = temporal_access(settings, SERVICE)  # a bad certificate or key stops here, in one line
    setup_tracing(SERVICE, settings.otlp_endpoint)
    telemetry.instrument_http_clients()  # GitHub and model calls, children of the activities making them
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
    llm_settings = settings.llm()

    async def publish(event: Event) -> None:
        await publish_event(broker, event)

    activities = PlannerActivities(
        sessions=sessions,
        github=github_factory(
            settings.github_api_url, GitHubCredentials.from_settings(settings, lambda: broker.connection)
        ),
        llm=lambda: make_client(llm_settings),
        publish=publish,
    )
    worker = build_worker(
        client,
        task_queue=settings.task_queue,
        activities=activities,
        graceful_shutdown_seconds=settings.graceful_shutdown_seconds,
    )
    subscribers.register(broker, client, settings, sessions)
    checks = dependency_checks(broker, engine, client)
    app = health_app(SERVICE, checks)
    listen = (settings.http_host, settings.http_port)
    await host_service(SERVICE, app, listen=listen, engine=engine, broker=broker, worker=worker)


def main() -> None:
    with refusal_exits_at_once():
        asyncio.run(serve(PlannerSettings()))
