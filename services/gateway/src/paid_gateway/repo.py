"""The gateway's data access: keyword-only functions over its own tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway.models import WebhookDelivery


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
