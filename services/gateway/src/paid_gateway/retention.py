"""The gateway's retention rules (paid_runtime.retention): the output and events of finished runs, and
the records of webhook deliveries, older than PAID_GATEWAY_RETENTION_DAYS. The runs' summary rows stay
(they are small, and the dashboard's history and costs read them)."""

from __future__ import annotations

from datetime import timedelta

from paid_gateway.config import GatewaySettings
from paid_runtime.retention import Retention, RetentionRule

FINISHED = (
    "NOT EXISTS (SELECT 1 FROM gateway.runs r WHERE r.run_id = {table}.run_id AND r.finished_at IS NULL)"
)
RULES = [
    # A run still going keeps all its output, however long it has been running.
    RetentionRule("gateway.run_output", "occurred_at", also=FINISHED.format(table="run_output")),
    RetentionRule("gateway.run_events", "occurred_at", also=FINISHED.format(table="run_events")),
    RetentionRule("gateway.webhook_deliveries", "received_at"),
]


def gateway_retention(settings: GatewaySettings) -> Retention:
    return Retention(
        service="gateway",
        rules=RULES,
        days=settings.retention_days,
        every=timedelta(hours=settings.retention_every_hours),
        task_queue=settings.retention_task_queue,
    )
