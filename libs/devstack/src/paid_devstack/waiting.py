"""Waiting inside async tests: poll a condition, sync or async, until it holds or a deadline passes."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def wait_until_async(
    check: Callable[[], bool] | Callable[[], Awaitable[bool]], *, timeout: float, what: str
) -> None:
    deadline = time.monotonic() + timeout
    interval = 0.01
    while True:
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
        await asyncio.sleep(min(interval, remaining))
        interval = min(interval * 1.5, 0.2)
