"""The gateway's data access: keyword-only functions over its own tables."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway.models import WebhookDelivery


@dataclass(frozen=True)
class DeliveryRecord:
    delivery_id: str
    event: str
    action: str | None
    repo: str | None
    published_event_id: str


async def find_delivery(session: AsyncSession, *, delivery_id: str) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id)


async def record_delivery(
    session: AsyncSession,
    *,
    delivery_id: str,
    event: str,
    action: str | None,
    repo: str | None,
    published_event_id: str,
) -> bool:
    """Stores the delivery once; a concurrent duplicate changes nothing. Returns whether a row was added."""
    statement = (
        insert(WebhookDelivery)
        .values(
            delivery_id=delivery_id,
            event=event,
            action=action,
            repo=repo,
            received_at=datetime.now(UTC),
            published_event_id=published_event_id,
        )
        .on_conflict_do_nothing(index_elements=["delivery_id"])
    )
    result = await session.exec(statement)
    await session.commit()
    return bool(result.rowcount)


class Driver(Protocol):
    """The part of an asyncpg connection the webhook path's statements use."""

    async def fetch(self, query: str, *args: object) -> list[Mapping[str, Any]]: ...
    async def execute(self, query: str, *args: object) -> str: ...


async def find_published_event_ids(driver: Driver, *, delivery_ids: Collection[str]) -> dict[str, str]:
    """The published event id of each of these deliveries that was recorded, by delivery id.

    On the driver's connection: the webhook path runs it under load, where the ORM's statement
    handling cost more CPU than the query."""
    if not delivery_ids:
        return {}
    rows = await driver.fetch(
        "SELECT delivery_id, published_event_id FROM gateway.webhook_deliveries"
        " WHERE delivery_id = ANY($1::text[])",
        list(delivery_ids),
    )
    return {str(row["delivery_id"]): str(row["published_event_id"]) for row in rows}


async def record_deliveries(driver: Driver, *, rows: Sequence[DeliveryRecord]) -> int:
    """Stores many deliveries in one statement (so one commit), each once: rows already stored, or
    repeated in `rows`, change nothing. Returns how many rows were added."""
    if not rows:
        return 0
    status = await driver.execute(
        "INSERT INTO gateway.webhook_deliveries"
        " (delivery_id, event, action, repo, received_at, published_event_id)"
        " SELECT d, e, a, r, $6, p FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])"
        " AS t(d, e, a, r, p) ON CONFLICT (delivery_id) DO NOTHING",
        [row.delivery_id for row in rows],
        [row.event for row in rows],
        [row.action for row in rows],
        [row.repo for row in rows],
        [row.published_event_id for row in rows],
        datetime.now(UTC),
    )
    return int(status.rsplit(" ", 1)[-1])  # "INSERT 0 <rows>"
