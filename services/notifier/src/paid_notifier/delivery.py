"""Delivery at least once, deduped on the sender's side.

An event is first logged, a pending row per channel it routes to (keyed by event id and channel, so
a redelivered event adds nothing), and only then acknowledged to NATS. Due rows are then claimed,
sent, and marked delivered; a failed send is retried with a doubling pause until `max_attempts`. A
delivered row is never sent again. The one window for a duplicate is a crash between a receiver's
answer and the mark: the retry carries the same idempotency key (webhooks) or Message-ID (email)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from paid_contracts import Event
from paid_contracts.notifications import ChannelSpec
from paid_notifier.channels import Senders, SendFailed
from paid_notifier.routing import NOTIFIED, route
from paid_notifier.store import Due, Store

log = logging.getLogger(__name__)
EVENT_TYPES: dict[str, type[Event]] = {kind.model_fields["type"].default: kind for kind in NOTIFIED}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 12
    first_seconds: float = 5.0
    max_seconds: float = 600.0
    send_timeout_seconds: float = 10.0

    def pause(self, attempts: int) -> float:
        return float(min(self.first_seconds * 2.0 ** (attempts - 1), self.max_seconds))


class Dispatcher:
    def __init__(self, store: Store, senders: Senders, policy: RetryPolicy) -> None:
        self.store = store
        self.senders = senders
        self.policy = policy

    async def accept(self, event: Event) -> int:
        """Logs the event's deliveries and tries them at once; answers how many channels it routes to."""
        channels = route(await self.store.channels(), event)
        if channels:
            await self.store.log(event, [channel.name for channel in channels])
            await self.deliver_due()
        return len(channels)

    async def deliver_due(self) -> int:
        """Sends what is due; answers how many were delivered."""
        due = await self.store.claim_due(limit=50, claim_seconds=self.policy.send_timeout_seconds * 3)
        if not due:
            return 0
        channels = {channel.name: channel for channel in await self.store.channels()}
        results = await asyncio.gather(*(self._send(item, channels) for item in due))
        return sum(results)

    async def _send(self, due: Due, channels: dict[str, ChannelSpec]) -> bool:
        channel = channels.get(due.channel)
        kind = EVENT_TYPES.get(due.event_type)
        if channel is None or kind is None:
            await self.store.gave_up(due, error="the channel was removed" if kind else "unknown event type")
            return False
        event = kind.model_validate(due.event)
        try:
            await asyncio.wait_for(self.senders.send(channel, event), self.policy.send_timeout_seconds)
        except (SendFailed, TimeoutError) as error:
            permanent = isinstance(error, SendFailed) and error.permanent
            reason = str(error) or "timed out"
            if permanent or due.attempts >= self.policy.max_attempts:
                log.error(
                    "giving up on %s to %s after %d attempts: %s",
                    due.event_id,
                    due.channel,
                    due.attempts,
                    reason,
                )
                await self.store.gave_up(due, error=reason)
            else:
                await self.store.retry(due, error=reason, pause=self.policy.pause(due.attempts))
            return False
        await self.store.delivered(due)
        return True

    async def run(self, poll_seconds: float) -> None:
        """Retries until cancelled (a database hiccup only delays them)."""
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("delivering notifications failed")
            await asyncio.sleep(poll_seconds)
