"""The notifier's retention on the time-skipping server: delivery records done with and older than the
setting go; a younger one stays, and a pending one stays however old (it is still owed)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from paid_devstack.test_servers import time_skipping_environment
from paid_notifier.config import NotifierSettings
from paid_notifier.retention import RULES, notifier_retention
from paid_runtime.database import session_factory
from paid_runtime.retention import RetentionInput, RetentionWorkflow, retention_worker

DAYS = 30


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await time_skipping_environment() as environment:
        yield environment


async def test_retention_keeps_pending_and_young_deliveries(
    env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    now = await env.get_current_time()
    deliveries = {
        "old-delivered": ("delivered", timedelta(days=DAYS, minutes=1)),
        "old-failed": ("failed", timedelta(days=DAYS * 2)),
        "old-pending": ("pending", timedelta(days=DAYS * 3)),
        "young-delivered": ("delivered", timedelta(days=DAYS) - timedelta(minutes=5)),
    }
    async with engine.begin() as connection:
        for event_id, (status, age) in deliveries.items():
            await connection.execute(
                text(
                    "INSERT INTO notifier.deliveries "
                    "(event_id, channel, event_type, event, status, created_at) "
                    "VALUES (:id, 'ops', 'paid.run.finished', '{}', :status, :at)"
                ),
                {"id": event_id, "status": status, "at": now - age},
            )
    queue = f"retention-{uuid.uuid4().hex[:8]}"

    async with retention_worker(env.client, session_factory(engine), RULES, queue):
        deleted = await env.client.execute_workflow(
            RetentionWorkflow.run,
            RetentionInput(days=DAYS),
            id=f"retention-{uuid.uuid4()}",
            task_queue=queue,
        )

    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT event_id FROM notifier.deliveries"))
        left = sorted(row[0] for row in rows)
    assert set(deleted) == {"notifier.deliveries"}
    assert left == ["old-pending", "young-delivered"]


def test_the_notifiers_retention_follows_its_settings() -> None:
    retention = notifier_retention(NotifierSettings(retention_days=7, retention_every_hours=6))
    assert (retention.service, retention.days, retention.every) == ("notifier", 7, timedelta(hours=6))
    assert retention.task_queue == "paid-notifier"
