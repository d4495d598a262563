"""Evolution's NATS handlers."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import RunFinished, subjects
from paid_evolution import repo
from paid_runtime.messaging import STREAMS
from paid_runtime.subscriptions import durable_subscriber
from paid_runtime.telemetry import current_trace_id

log = logging.getLogger(__name__)


def register(broker: NatsBroker, sessions: async_sessionmaker[AsyncSession]) -> None:
    @durable_subscriber(
        broker,
        service="evolution",
        name="run-finished",
        subject=subjects.RUN_FINISHED,
        stream=STREAMS["PAID_RUN"],
    )
    async def on_run_finished(event: RunFinished) -> None:
        async with sessions() as session:
            added = await repo.record_run(session, event=event, trace_id=current_trace_id())
        state = "new" if added else "already known"
        log.info("run %s recorded (%s)", event.run_id, state, extra={"run_id": event.run_id})
