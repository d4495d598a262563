"""Waiting for a broker's request-reply subjects to answer: faststream may subscribe after `start`
returns, so a flush alone does not mean the server has the subscription."""

from __future__ import annotations

import functools

from faststream.nats import NatsBroker
from nats.errors import Error as NatsError

from paid_devstack.waiting import wait_until_async


async def answering(broker: NatsBroker, *served: str) -> None:
    """Until each subject is answered (an empty request gets the service's typed refusal)."""

    async def answers(subject: str) -> bool:
        try:
            await broker.connection.request(subject, b"{}", timeout=1)
        except NatsError:
            return False
        return True

    for subject in served:
        answered = functools.partial(answers, subject)
        await wait_until_async(answered, timeout=10, what=f"an answer on {subject}")
