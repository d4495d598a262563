"""Shared backoff: when a provider answers 429 with `retry-after`, no call of any run on any worker
goes to that provider until the deadline passes.

The deadline is kept in the spend ledger's database (`executor.provider_backoffs`), computed and
compared on the database's clock, so workers with skewed clocks agree on it; a proxy without the
shared ledger keeps it in memory for its own runs. A call that arrives during a pause waits in the
proxy (before it reserves any budget) and then goes on; a pause longer than `max_wait_seconds` is
answered at once with a 429 and the time left, which agents' clients honour. Every call reads the
deadline (one primary-key lookup) rather than a cached copy: a copy would let a worker that has not
yet seen another's 429 send calls the provider is refusing."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
LONGEST_PAUSE_SECONDS = 3600.0  # a provider's retry-after past this is taken as this

REMAINING = text(
    "SELECT EXTRACT(EPOCH FROM until - clock_timestamp()) FROM executor.provider_backoffs "
    "WHERE provider = :provider AND until > clock_timestamp()"
)
EXTEND = text(
    """
    INSERT INTO executor.provider_backoffs (provider, until)
    VALUES (:provider, clock_timestamp() + make_interval(secs => :seconds))
    ON CONFLICT (provider) DO UPDATE SET until = GREATEST(executor.provider_backoffs.until, EXCLUDED.until)
    """
)


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date (RFC 9110); None when absent
    or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds <= 0:  # NaN, or a date already passed
        return None
    return min(seconds, LONGEST_PAUSE_SECONDS)


class ProviderBackoff:
    def __init__(self, engine: AsyncEngine | None = None, *, max_wait_seconds: float = 120.0) -> None:
        """`engine`: the shared ledger's; None keeps pauses in this process only."""
        self.engine = engine
        self.max_wait_seconds = max_wait_seconds
        self._local: dict[str, float] = {}  # provider -> deadline on time.monotonic()

    async def pause(self, provider: str, seconds: float) -> None:
        """The provider refused with a retry-after of `seconds`: no call to it before then, anywhere."""
        self._local[provider] = max(self._local.get(provider, 0.0), time.monotonic() + seconds)
        if self.engine is not None:
            async with self.engine.connect() as connection:
                await connection.execute(EXTEND, {"provider": provider, "seconds": seconds})
                await connection.commit()
        log.warning("%s answered 429: its calls wait %.1f s, on every worker", provider, seconds)

    async def remaining(self, provider: str) -> float:
        """Seconds until calls to the provider may go again; 0 when they may now."""
        if self.engine is None:
            return max(0.0, self._local.get(provider, 0.0) - time.monotonic())
        async with self.engine.connect() as connection:
            left = (await connection.execute(REMAINING, {"provider": provider})).scalar()
        return 0.0 if left is None else float(left)

    async def wait(self, provider: str) -> float:
        """Waits out the provider's pause, and any pause set meanwhile; answers 0 when the call may go,
        or the seconds left when the pause is longer than the proxy holds a call."""
        while (left := await self.remaining(provider)) > 0:
            if left > self.max_wait_seconds:
                return left
            await asyncio.sleep(left)  # the provider's deadline, then read it again
        return 0.0
