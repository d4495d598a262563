"""The deliveries table as the webhook path uses it: lookups and records grouped across requests.

Under load every delivery would otherwise hold a pooled connection for its own lookup and commit its
own record (an fsync each); grouped, one query answers every lookup that arrived during the previous
one, and one statement records every delivery published meanwhile (`batching.Batcher`). Each of the
two runs one flush at a time, so each keeps one connection of the pool while it has work (no checkout,
ping and session per query under load) and gives it back when its queue runs dry or after a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway import repo
from paid_gateway.batching import Batcher
from paid_gateway.repo import DeliveryRecord

log = logging.getLogger(__name__)
T = TypeVar("T")


class HeldConnection:
    """One pooled connection kept between uses until `close`; dropped after an error."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None

    async def run(self, use: Callable[[repo.Driver], Awaitable[T]]) -> T:
        if self._connection is None:
            self._connection = await self._engine.connect()
        try:
            raw = await self._connection.get_raw_connection()
            driver: repo.Driver | None = raw.driver_connection
            if driver is None:
                raise RuntimeError("the pooled connection has no driver connection")
            return await use(driver)
        except BaseException:
            await self.close(invalidate=True)
            raise

    async def close(self, *, invalidate: bool = False) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if invalidate:
                await connection.invalidate()
            await connection.close()
        except Exception:
            log.warning("closing a deliveries connection failed", exc_info=True)


class DeliveryLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, max_batch: int = 500) -> None:
        engine = sessions.kw["bind"]
        assert isinstance(engine, AsyncEngine), "the sessions must be bound to an AsyncEngine"
        self._lookup_connection = HeldConnection(engine)
        self._record_connection = HeldConnection(engine)
        self.lookups: Batcher[str, str | None] = Batcher(
            self._find, max_batch=max_batch, name="delivery-lookup", on_idle=self._lookup_connection.close
        )
        self.records: Batcher[DeliveryRecord, None] = Batcher(
            self._record, max_batch=max_batch, name="delivery-record", on_idle=self._record_connection.close
        )

    async def published_event_id(self, delivery_id: str) -> str | None:
        """The event a delivery was published as, if it was recorded; raises if the database is down."""
        return await self.lookups.submit(delivery_id)

    async def record(self, record: DeliveryRecord) -> None:
        """Returns once the delivery's record is committed (with those of its batch)."""
        await self.records.submit(record)

    async def drain(self) -> None:
        """Returns once what is waiting is flushed (the connections are given back when idle)."""
        await self.lookups.drain()
        await self.records.drain()

    async def _find(self, delivery_ids: Sequence[str]) -> list[str | None]:
        ids = set(delivery_ids)
        published = await self._lookup_connection.run(
            lambda driver: repo.find_published_event_ids(driver, delivery_ids=ids)
        )
        return [published.get(delivery_id) for delivery_id in delivery_ids]

    async def _record(self, records: Sequence[DeliveryRecord]) -> list[None]:
        await self._record_connection.run(lambda driver: repo.record_deliveries(driver, rows=records))
        return [None] * len(records)
