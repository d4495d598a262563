"""Publishes the agent's output while it runs, as `RunOutputAppended` batches for live tails.

Lines are buffered and flushed about half a second after the first one arrives: a silent agent costs
no wake-ups (at 1,000 waiting runs, a timer each would be 2,000 a second). The event id
`{run_id}:output:{attempt}:{sequence}` makes a re-published batch a duplicate. A failed publish is
logged and its lines dropped: the live tail is best effort and must never fail or slow the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from faststream.nats import NatsBroker

from paid_contracts import Correlation, RunOutputAppended
from paid_contracts.progress import MAX_LINE_CHARS, MAX_LINES_PER_BATCH
from paid_executor.activities.deps import PRODUCER
from paid_executor.params import RunContext
from paid_runtime.messaging import publish_event

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.5


class OutputPublisher:
    def __init__(self, broker: NatsBroker, run: RunContext, attempt: int, *, scope: str = "") -> None:
        """`scope` (e.g. the fix-forward iteration) keeps event ids apart between activities of a run."""
        self.broker = broker
        self.run = run
        self.attempt = attempt
        self._id_prefix = f"{run.run_id}:output:{scope + ':' if scope else ''}{attempt}"
        self._pending: list[str] = []
        self._sequence = 0
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()

    def line(self, text: str) -> None:
        self._pending.append(text.rstrip("\n")[:MAX_LINE_CHARS])
        self._arrived.set()

    async def __aenter__(self) -> OutputPublisher:
        self._task = asyncio.create_task(self._flush_periodically())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await self.flush()

    async def _flush_periodically(self) -> None:
        while True:
            await self._arrived.wait()
            await asyncio.sleep(FLUSH_SECONDS)  # the lines that follow go in the same batch
            self._arrived.clear()
            await self.flush()

    async def flush(self) -> None:
        while self._pending:
            lines, self._pending = self._pending[:MAX_LINES_PER_BATCH], self._pending[MAX_LINES_PER_BATCH:]
            run = self.run
            event = RunOutputAppended(
                event_id=f"{self._id_prefix}:{self._sequence}",
                producer=PRODUCER,
                correlation=Correlation(
                    repo=run.issue.repo.full_name, issue=run.issue.number, run=run.run_id
                ),
                run_id=run.run_id,
                workflow_id=run.workflow_id,
                issue=run.issue,
                attempt=self.attempt,
                sequence=self._sequence,
                lines=tuple(lines),
            )
            self._sequence += 1
            try:
                await publish_event(self.broker, event, timeout=2.0)
            except Exception:
                log.warning(
                    "could not publish %d output lines of run %s", len(lines), run.run_id, exc_info=True
                )
