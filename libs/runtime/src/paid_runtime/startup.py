"""Starting while a dependency is still down: keep trying for a while instead of crashing at once.

After a crash or a host reboot the servers and the services come back in any order. A service that
exits because PostgreSQL is still replaying its WAL only adds restarts; it waits instead, up to a
deadline (then it exits, and the supervisor or orchestrator decides).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_DEADLINE_SECONDS = 300.0


def startup_deadline_seconds() -> float:
    """`PAID_STARTUP_DEADLINE_SECONDS`, for every service alike."""
    return float(os.environ.get("PAID_STARTUP_DEADLINE_SECONDS", DEFAULT_DEADLINE_SECONDS))


async def until_available(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    deadline_seconds: float | None = None,
    max_delay: float = 5.0,
) -> T:
    """Awaits `attempt()` until it succeeds; retries with backoff until the deadline, then re-raises."""
    allowed = startup_deadline_seconds() if deadline_seconds is None else deadline_seconds
    deadline = time.monotonic() + allowed
    delay = 0.2
    while True:
        try:
            return await attempt()
        except Exception as error:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("%s is not available yet (%s); trying again in %.1f s", what, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
