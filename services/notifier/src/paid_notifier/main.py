"""Entry point: `paid-notifier`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import httpx

from paid_notifier import api, subscribers
from paid_notifier.channels import Senders, SmtpRelay
from paid_notifier.config import NotifierSettings
from paid_notifier.delivery import Dispatcher, RetryPolicy
from paid_notifier.retention import notifier_retention
from paid_notifier.store import Store
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.host import host_service
from paid_runtime.http import health_app
from paid_runtime.logs import setup_logging
from paid_runtime.messaging import make_broker
from paid_runtime.readiness import dependency_checks
from paid_runtime.retention import serve_retention
from paid_runtime.telemetry import instrument_http_clients, setup_tracing
from paid_runtime.temporal_access import temporal_access

SERVICE = "notifier"
MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def dispatcher_for(settings: NotifierSettings, store: Store, http: httpx.AsyncClient) -> Dispatcher:
    smtp = SmtpRelay(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        starttls=settings.smtp_starttls,
        timeout=settings.send_timeout_seconds,
    )
    policy = RetryPolicy(
        max_attempts=settings.max_attempts,
        first_seconds=settings.retry_first_seconds,
        max_seconds=settings.retry_max_seconds,
        send_timeout_seconds=settings.send_timeout_seconds,
    )
    return Dispatcher(store, Senders(http, smtp), policy)


async def serve(settings: NotifierSettings) -> None:
    setup_logging(SERVICE, settings.log_level)
    setup_tracing(SERVICE, settings.otlp_endpoint)
    instrument_http_clients()
    engine = make_engine(settings.database_url)
    await migrate(engine, schema=settings.db_schema, migrations_dir=MIGRATIONS)
    store = Store(engine)
    await store.save_channels(settings.channels)
    broker = make_broker(
        settings.nats_url,
        SERVICE,
        user=settings.nats_user,
        password=settings.nats_password,
        replicas=settings.nats_replicas,
    )
    # Redirects are not followed: a receiver cannot send a signed notification somewhere else.
    http = httpx.AsyncClient(timeout=settings.send_timeout_seconds, follow_redirects=False)
    dispatcher = dispatcher_for(settings, store, http)
    subscribers.register(broker, dispatcher)
    retries = asyncio.create_task(dispatcher.run(settings.retry_poll_seconds), name="notifier-retries")
    jobs = [retries]
    if settings.retention_days and settings.temporal_target:
        retention = serve_retention(
            temporal_access(settings, SERVICE), notifier_retention(settings), session_factory(engine)
        )
        jobs.append(asyncio.create_task(retention, name="notifier-retention"))
    elif settings.retention_days:
        log.warning("no PAID_NOTIFIER_TEMPORAL_TARGET: the delivery log is kept (no retention job)")
    app = api.mount(health_app(SERVICE, dependency_checks(broker, engine)), store, token=settings.api_token)
    listen = (settings.http_host, settings.http_port)
    try:
        await host_service(SERVICE, app, listen=listen, engine=engine, broker=broker)
    finally:
        for job in jobs:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job
        await http.aclose()


def main() -> None:
    asyncio.run(serve(NotifierSettings()))
