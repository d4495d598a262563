"""Wakes the live streams (SSE) of this process when the projector has committed a change.

Streams also re-read on a short timer, so a change projected by another gateway replica reaches them
too, only a little later.
"""

from __future__ import annotations

import asyncio
import contextlib


class ChangeHub:
    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    async def wait(self, timeout: float) -> None:
        """Returns at the next change, or after `timeout` seconds, whichever comes first."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await waiter.wait()
        finally:
            self._waiters.discard(waiter)
