"""The gateway's retention job (paid_runtime.retention): the output and events of finished runs, and the
records of webhook deliveries, older than PAID_GATEWAY_RETENTION_DAYS. The runs' summary rows stay (they
are small, and the dashboard's history and costs read them).

The gateway serves reads and webhooks while Temporal is down, so its retention worker runs beside them
rather than under them: a failure to reach Temporal is logged and tried again, and never stops the
gateway."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.worker import Worker

from paid_gateway.config import GatewaySettings
from paid_runtime.retention import RetentionActivities, RetentionRule, RetentionWorkflow, ensure_retention
from paid_runtime.temporal import connect_service_temporal
from paid_runtime.temporal_access import TemporalAccess

SERVICE = "gateway"
RETRY_SECONDS = 60.0
log = logging.getLogger(__name__)

FINISHED = (
    "NOT EXISTS (SELECT 1 FROM gateway.runs r WHERE r.run_id = {table}.run_id AND r.finished_at IS NULL)"
)
RULES = [
    # A run still going keeps all its output, however long it has been running.
    RetentionRule("gateway.run_output", "occurred_at", also=FINISHED.format(table="run_output")),
    RetentionRule("gateway.run_events", "occurred_at", also=FINISHED.format(table="run_events")),
    RetentionRule("gateway.webhook_deliveries", "received_at"),
]


def retention_worker(client: Client, sessions: async_sessionmaker[AsyncSession], task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[RetentionWorkflow],
        activities=[RetentionActivities(sessions, RULES).delete_expired_rows],
    )


async def serve_retention(
    access: TemporalAccess, settings: GatewaySettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Keeps the schedule and its worker until cancelled (cancelling the worker shuts it down)."""
    every = timedelta(hours=settings.retention_every_hours)
    while True:
        try:
            client = await connect_service_temporal(access, SERVICE)
            ensured = await ensure_retention(
                client,
                service=SERVICE,
                task_queue=settings.retention_task_queue,
                days=settings.retention_days,
                every=every,
            )
            log.info("the retention schedule (%d days): %s", settings.retention_days, ensured)
            await retention_worker(client, sessions, settings.retention_task_queue).run()
        except Exception as error:  # reads and webhooks matter more; the next attempt may reach it
            log.error("retention: %s; trying again in %.0f s", error, RETRY_SECONDS)
        await asyncio.sleep(RETRY_SECONDS)
