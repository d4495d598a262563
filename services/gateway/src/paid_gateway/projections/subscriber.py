"""The projector's NATS side: one durable consumer on `paid.run.>` feeding the read models."""

from __future__ import annotations

import logging
from typing import Any

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway.projections import projector
from paid_gateway.projections.hub import ChangeHub
from paid_runtime.messaging import STREAMS
from paid_runtime.subscriptions import durable_subscriber

log = logging.getLogger(__name__)
SERVICE = "gateway"
RUN_EVENTS = "paid.run.>"


def register(broker: NatsBroker, sessions: async_sessionmaker[AsyncSession], hub: ChangeHub) -> None:
    @durable_subscriber(
        broker, service=SERVICE, name="run-projection", subject=RUN_EVENTS, stream=STREAMS["PAID_RUN"]
    )
    async def on_run_event(payload: dict[str, Any]) -> None:
        # An invalid payload raises ValidationError, which the redelivery middleware dead-letters.
        event = projector.parse_run_event(payload)
        if event is None:
            log.info("ignoring run event of unknown type %r", payload.get("type"))
            return
        async with sessions() as session:
            await projector.apply(session, event)
        hub.notify()
