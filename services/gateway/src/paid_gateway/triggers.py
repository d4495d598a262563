"""Decides what a verified webhook delivery means for Paid: an event to publish, or why it is ignored.

The reading itself is `paid_github_events`, shared with the poller, so both name a change alike;
this module only says that the gateway is the producer.
"""

from __future__ import annotations

from paid_contracts import Event, LabelMapping
from paid_github_events import Delivery, Ignored, delivery_event

PRODUCER = "gateway"

__all__ = ["PRODUCER", "Delivery", "Ignored", "interpret"]


def interpret(delivery: Delivery, *, labels: LabelMapping) -> Event | Ignored:
    """The event a delivery asks for; its `event_id` (the publish's Nats-Msg-Id) is the change's identity."""
    return delivery_event(delivery, labels=labels, producer=PRODUCER)
