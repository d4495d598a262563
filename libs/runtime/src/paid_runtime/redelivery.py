"""What happens to a message whose handler fails: retried later, or parked as a dead letter.

JetStream redelivers a nacked message at once, so a handler failing on an outage (Temporal or
PostgreSQL down) would burn its deliveries in a second and the work would be dropped. Instead a
transient failure is nacked with a growing delay, which rides out outages of many minutes, and a
message that can never succeed (it does not validate) or that failed on its last allowed delivery is
published whole to `paid.dead.<subject>` and terminated, so nothing is lost silently.
"""

from __future__ import annotations

import logging
from typing import Any

from faststream import BaseMiddleware
from faststream.exceptions import HandlerException, NackMessage, RejectMessage
from faststream.message import StreamMessage
from nats.aio.msg import Msg
from pydantic import ValidationError

from paid_contracts.subjects import dead_letter_subject

log = logging.getLogger(__name__)

MAX_DELIVER = 100
FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 30.0


def redelivery_delay(delivered: int) -> float:
    """Seconds before delivery number `delivered + 1`: doubling from 0.5 s, capped at 30 s."""
    return float(min(FIRST_DELAY_SECONDS * 2 ** max(delivered - 1, 0), MAX_DELAY_SECONDS))


class RedeliveryMiddleware(BaseMiddleware):
    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        try:
            return await call_next(msg)
        except HandlerException:
            raise
        except Exception as error:
            raw: Msg = msg.raw_message
            delivered = raw.metadata.num_delivered if raw.reply else 1
            poison = isinstance(error, ValidationError)
            if poison or delivered >= MAX_DELIVER:
                try:
                    await _park(raw, reason=f"{type(error).__name__}: {error}", delivered=delivered)
                except Exception:
                    log.exception("could not dead-letter %s; it will be delivered again", raw.subject)
                    raise NackMessage(delay=MAX_DELAY_SECONDS) from error
                log.error("dead-lettered %s after %d deliveries", raw.subject, delivered, exc_info=error)
                raise RejectMessage() from error
            delay = redelivery_delay(delivered)
            log.warning(
                "handling %s failed (delivery %d), retrying in %.1f s",
                raw.subject,
                delivered,
                delay,
                exc_info=error,
            )
            raise NackMessage(delay=delay) from error


async def _park(raw: Msg, *, reason: str, delivered: int) -> None:
    original = raw.headers or {}
    # Nats-* headers steer the server (expected stream, dedupe id): keep only what describes the message.
    headers = {key: value for key, value in original.items() if not key.startswith("Nats-")}
    headers |= {"Paid-Dead-Reason": reason[:1000], "Paid-Dead-Deliveries": str(delivered)}
    if message_id := original.get("Nats-Msg-Id"):
        headers["Nats-Msg-Id"] = f"dead:{message_id}"
    # The message's own connection (the API `Msg.ack` uses too) publishes into the PAID_DEAD stream.
    await raw._client.jetstream().publish(dead_letter_subject(raw.subject), raw.data, headers=headers)
