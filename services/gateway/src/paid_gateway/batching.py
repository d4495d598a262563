"""Group commit: the concurrent calls of many requests served by one round trip.

A caller submits an item and awaits its result. One flush runs at a time and takes every item
waiting (up to `max_batch`); items that arrive during a flush wait for the next one. So an idle
gateway flushes at once (a batch of one, no timer added to its latency), and a busy one sends one
query for everything that arrived during the previous query, which is what keeps a database
round trip per request, and the connection it holds, from becoming the queue under load.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

Flush = Callable[[Sequence[ItemT]], Awaitable[Sequence[ResultT]]]
"""Handles one batch; returns one result per item, in order. Raising fails every item of the batch."""


class Batcher(Generic[ItemT, ResultT]):
    def __init__(
        self,
        flush: Flush[ItemT, ResultT],
        *,
        max_batch: int = 500,
        name: str = "batch",
        on_idle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`on_idle` runs whenever the queue runs dry, e.g. to give back what the flushes share."""
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._flush = flush
        self._on_idle = on_idle
        self._max_batch = max_batch
        self._name = name
        self._waiting: list[tuple[ItemT, asyncio.Future[ResultT]]] = []
        self._runner: asyncio.Task[None] | None = None
        self.recent_batch_sizes: deque[int] = deque(maxlen=1000)  # for tests and the curious

    async def submit(self, item: ItemT) -> ResultT:
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)  # a failure whose caller went away is not "never retrieved"
        self._waiting.append((item, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name=f"{self._name}-flush")
        return await asyncio.shield(future)  # a cancelled caller leaves its item in the batch

    async def drain(self) -> None:
        """Returns once everything submitted so far has been flushed (for shutdown and tests)."""
        while self._runner is not None and not self._runner.done():
            await asyncio.shield(self._runner)

    async def _run(self) -> None:
        await asyncio.sleep(0)  # let the requests already runnable in this loop turn join the batch
        while self._waiting:  # again if items came while `on_idle` ran: nobody else will flush them
            await self._flush_waiting()
            if self._on_idle is not None:
                await self._on_idle()

    async def _flush_waiting(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: len(batch)]
            self.recent_batch_sizes.append(len(batch))
            try:
                results = await self._flush([item for item, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"{self._name}: {len(results)} results for {len(batch)} items")
            except BaseException as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(
                            error if isinstance(error, Exception) else RuntimeError(repr(error))
                        )
                if not isinstance(error, Exception):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


def _retrieve(future: asyncio.Future[ResultT]) -> None:
    if not future.cancelled():
        future.exception()
