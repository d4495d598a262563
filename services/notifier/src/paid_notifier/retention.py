"""The notifier's retention rule (paid_runtime.retention): the delivery log's records that are done with
(delivered, or failed for good) and older than PAID_NOTIFIER_RETENTION_DAYS. A pending delivery is never
deleted, however old: it is still owed to its receiver."""

from __future__ import annotations

from datetime import timedelta

from paid_notifier.config import NotifierSettings
from paid_runtime.retention import Retention, RetentionRule

RULES = [RetentionRule("notifier.deliveries", "created_at", also="status <> 'pending'")]


def notifier_retention(settings: NotifierSettings) -> Retention:
    return Retention(
        service="notifier",
        rules=RULES,
        days=settings.retention_days,
        every=timedelta(hours=settings.retention_every_hours),
        task_queue=settings.retention_task_queue,
    )
