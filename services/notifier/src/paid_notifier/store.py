"""The notifier's tables: its channels, and the delivery log (one row per event and channel)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_contracts import Event
from paid_contracts.notifications import ChannelSpec

UPSERT_CHANNEL = text(
    "INSERT INTO notifier.channels (name, spec) VALUES (:name, CAST(:spec AS jsonb)) "
    "ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, updated_at = now()"
)
CHANNELS = text("SELECT spec FROM notifier.channels ORDER BY name")
DELETE_CHANNEL = text("DELETE FROM notifier.channels WHERE name = :name RETURNING name")
LOG = text(
    "INSERT INTO notifier.deliveries (event_id, channel, event_type, event) "
    "SELECT :event_id, unnest(CAST(:channels AS text[])), :event_type, CAST(:event AS jsonb) "
    "ON CONFLICT (event_id, channel) DO NOTHING"
)
# Claimed rows move their next attempt past the send's timeout, so that another replica (or this one,
# after a crash) takes them again only once this attempt can no longer be under way.
CLAIM_DUE = text(
    """
    UPDATE notifier.deliveries d
    SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => :claim)
    FROM (
        SELECT event_id, channel FROM notifier.deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED
    ) due
    WHERE d.event_id = due.event_id AND d.channel = due.channel
    RETURNING d.event_id, d.channel, d.event_type, d.event, d.attempts
    """
)
DELIVERED = text(
    "UPDATE notifier.deliveries SET status = 'delivered', delivered_at = now(), last_error = NULL "
    "WHERE event_id = :event_id AND channel = :channel"
)
RETRY = text(
    "UPDATE notifier.deliveries SET last_error = :error, "
    "next_attempt_at = now() + make_interval(secs => :pause) "
    "WHERE event_id = :event_id AND channel = :channel"
)
GAVE_UP = text(
    "UPDATE notifier.deliveries SET status = 'failed', last_error = :error "
    "WHERE event_id = :event_id AND channel = :channel"
)


@dataclass(frozen=True)
class Due:
    event_id: str
    channel: str
    event_type: str
    event: dict[str, object]
    attempts: int


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def save_channels(self, channels: list[ChannelSpec]) -> None:
        async with self.engine.begin() as connection:
            for channel in channels:
                spec = channel.model_dump(mode="json")
                spec["secret"] = channel.secret.get_secret_value() if channel.secret else None
                await connection.execute(UPSERT_CHANNEL, {"name": channel.name, "spec": json.dumps(spec)})

    async def channels(self) -> list[ChannelSpec]:
        async with self.engine.connect() as connection:
            rows = (await connection.execute(CHANNELS)).all()
        return [ChannelSpec.model_validate(row[0]) for row in rows]

    async def delete_channel(self, name: str) -> bool:
        """Pending deliveries to it are given up when next due (delivery.py)."""
        async with self.engine.begin() as connection:
            return (await connection.execute(DELETE_CHANNEL, {"name": name})).first() is not None

    async def log(self, event: Event, channels: list[str]) -> None:
        """A pending delivery per channel; a delivery already logged (a redelivered event) stays as is."""
        async with self.engine.begin() as connection:
            await connection.execute(
                LOG,
                {
                    "event_id": event.event_id,
                    "channels": channels,
                    "event_type": event.type,
                    "event": event.model_dump_json(),
                },
            )

    async def claim_due(self, *, limit: int, claim_seconds: float) -> list[Due]:
        async with self.engine.begin() as connection:
            rows = (await connection.execute(CLAIM_DUE, {"limit": limit, "claim": claim_seconds})).all()
        return [Due(row[0], row[1], row[2], dict(row[3]), int(row[4])) for row in rows]

    async def delivered(self, due: Due) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(DELIVERED, {"event_id": due.event_id, "channel": due.channel})

    async def retry(self, due: Due, *, error: str, pause: float) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                RETRY, {"event_id": due.event_id, "channel": due.channel, "error": error, "pause": pause}
            )

    async def gave_up(self, due: Due, *, error: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                GAVE_UP, {"event_id": due.event_id, "channel": due.channel, "error": error}
            )
