"""Budget thresholds reached, announced at least once: an outbox in the ledger's database.

The settlement that takes a scope to 80% or 100% of its cap writes a row keyed by the event's
deterministic id (a second writer of the same crossing, e.g. the other unit, finds it there and adds
nothing), then publishes it and marks it published. A row left unpublished (NATS away, the worker
died between the two) is published again by any worker's relay, with the same id, so NATS and the
notifier drop the copy."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_contracts.budgets import (
    STOP_PERCENT,
    BudgetAlerted,
    BudgetExhausted,
    BudgetThresholdReached,
    BudgetUnit,
    budget_event_id,
)
from paid_contracts.envelope import Correlation, Event
from paid_executor.proxy.budgets import Scope

log = logging.getLogger(__name__)
Publish = Callable[[Event], Awaitable[object]]

RECORD = text(
    "INSERT INTO executor.spend_alerts (event_id, subject, event) "
    "VALUES (:id, :subject, CAST(:event AS jsonb)) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)
MARK_PUBLISHED = text(
    "UPDATE executor.spend_alerts SET published_at = clock_timestamp() WHERE event_id = :id"
)
UNPUBLISHED = text(
    "SELECT event_id, subject, event FROM executor.spend_alerts "
    "WHERE published_at IS NULL AND created_at < clock_timestamp() - make_interval(secs => :age) "
    "ORDER BY created_at LIMIT 100"
)
EVENT_TYPES: dict[str, type[BudgetThresholdReached]] = {
    BudgetAlerted.SUBJECT: BudgetAlerted,
    BudgetExhausted.SUBJECT: BudgetExhausted,
}


def threshold_event(
    scope: Scope,
    percent: int,
    unit: BudgetUnit,
    *,
    spent_tokens: int,
    spent_usd: float,
    run_id: str,
    at: datetime | None = None,
) -> BudgetThresholdReached:
    kind = BudgetExhausted if percent >= STOP_PERCENT else BudgetAlerted
    return kind(
        event_id=budget_event_id(scope.key, percent),
        occurred_at=at or datetime.now(UTC),
        producer="executor",
        correlation=Correlation(project=scope.project, repo=scope.project, run=run_id),
        scope=scope.key,
        scope_kind=scope.kind,
        project=scope.project,
        period=scope.period,
        time_zone=scope.time_zone,
        percent=percent,
        unit=unit,
        spent_tokens=spent_tokens,
        spent_usd=spent_usd,
        cap_tokens=scope.cap.tokens,
        cap_usd=scope.cap.usd,
        run_id=run_id,
    )


class SpendAlerts:
    """`publish` sends an event to NATS (JetStream, Nats-Msg-Id = event id) and raises when it could not."""

    def __init__(self, engine: AsyncEngine, publish: Publish, *, relay_after_seconds: float = 10.0) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")  # each statement alone
        self.publish = publish
        self.relay_after_seconds = relay_after_seconds

    async def announce(self, event: BudgetThresholdReached) -> None:
        async with self.engine.connect() as connection:
            written = await connection.execute(
                RECORD, {"id": event.event_id, "subject": event.subject, "event": event.model_dump_json()}
            )
            if written.first() is None:
                return  # announced already, by this settlement's other unit or another worker
        await self._send(event)

    async def relay(self) -> int:
        """Publishes the rows still unpublished after `relay_after_seconds`; answers how many went out."""
        async with self.engine.connect() as connection:
            rows = (await connection.execute(UNPUBLISHED, {"age": self.relay_after_seconds})).all()
        sent = 0
        for _, subject, document in rows:
            payload = document if isinstance(document, dict) else json.loads(document)
            sent += await self._send(EVENT_TYPES[subject].model_validate(payload))
        return sent

    async def _send(self, event: BudgetThresholdReached) -> bool:
        try:
            await self.publish(event)
        except Exception as error:  # kept in the outbox: the relay sends it again
            log.warning("publishing %s failed (the relay retries): %s", event.event_id, error)
            return False
        async with self.engine.connect() as connection:
            await connection.execute(MARK_PUBLISHED, {"id": event.event_id})
        return True
