"""Entry point: `paid-gateway`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from pathlib import Path

from paid_gateway import token_service
from paid_gateway.app import SERVICE, create_app
from paid_gateway.budget_caps import nats_requester
from paid_gateway.config import GatewaySettings
from paid_gateway.project_attention import ProjectAttention
from paid_gateway.projections import subscriber as projections
from paid_gateway.projections.hub import ChangeHub
from paid_gateway.retention import gateway_retention
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.host import ServiceHost
from paid_runtime.http import make_server
from paid_runtime.logs import setup_logging
from paid_runtime.messaging import make_broker, publish_event
from paid_runtime.readiness import database_ready, nats_ready
from paid_runtime.retention import serve_retention
from paid_runtime.telemetry import setup_tracing
from paid_runtime.temporal import check_temporal_admits
from paid_runtime.temporal_access import refusal_exits_at_once, temporal_access

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


async def serve(settings: GatewaySettings) -> None:
    setup_logging(SERVICE, settings.log_level)
    access = temporal_access(settings, SERVICE)  # a bad certificate or key stops here, in one line
    setup_tracing(SERVICE, settings.otlp_endpoint)
    if not settings.webhook_secrets:
        log.warning("no webhook secret configured: every webhook delivery will be refused with 401")
    await check_temporal_admits(access, SERVICE)  # a refused credential exits before the database
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    await migrate(engine, schema=settings.db_schema, migrations_dir=MIGRATIONS)
    broker = make_broker(
        settings.nats_url,
        SERVICE,
        user=settings.nats_user,
        password=settings.nats_password,
        replicas=settings.nats_replicas,
    )
    hub = ChangeHub()
    sessions = session_factory(engine)
    projections.register(broker, sessions, hub)  # the read models of runs, from paid.run.>
    app = create_app(
        settings,
        publisher=functools.partial(publish_event, broker, timeout=settings.publish_timeout_seconds),
        sessions=sessions,
        checks={"nats": nats_ready(broker), "database": database_ready(engine)},
        hub=hub,
        requester=nats_requester(broker),
    )
    attention = ProjectAttention(sessions, app.state.publisher, app.state.projects)
    token_service.register(broker, app.state.minter, app.state.projects, attention)
    # What start-up built (modules, the app, pydantic's schemas) lives as long as the process: out of
    # the collector's sight, a full collection under load takes milliseconds instead of 100s of ms.
    gc.collect()
    gc.freeze()
    http = make_server(app, settings.http_host, settings.http_port)
    host = ServiceHost(SERVICE)
    host.on_stop(engine.dispose)
    if settings.retention_days:  # stopped before the engine is disposed (cleanups run last first)
        retention = asyncio.create_task(
            serve_retention(access, gateway_retention(settings), sessions), name="retention"
        )
        host.on_stop(functools.partial(stop_task, retention))
    host.on_stop(app.state.deliveries.drain)  # before dispose: the records of answered deliveries
    await host.run(http=http, broker=broker)


async def stop_task(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main() -> None:
    with refusal_exits_at_once():
        asyncio.run(serve(GatewaySettings()))
