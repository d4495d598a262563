"""Load shedding on the webhook path: beyond a bound of deliveries in flight, answer 503 at once.

Queueing without bound turns an overload into minutes of latency for every delivery, and GitHub gives
up on a delivery after 10 s anyway. A delivery refused at once with 503 and `Retry-After` is shown
as failed on GitHub's side (and can be redelivered), and the poller sees the same change on its next
cycle; nothing acknowledged is lost, and the deliveries admitted keep a short answer time.

A delivery counts from the moment its request reaches the application until its answer starts
(the record written after the answer does not count).
"""

from __future__ import annotations

import json

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SHED = Counter(
    "paid_gateway_webhook_shed", "Webhook deliveries refused with 503 because too many were in flight"
)
RETRY_AFTER_SECONDS = 1


class WebhookAdmission:
    """ASGI middleware bounding the POSTs to `path` in flight to `limit`."""

    def __init__(self, app: ASGIApp, *, path: str, limit: int) -> None:
        self.app = app
        self.path = path
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            SHED.inc()
            await _refuse(send, self.limit)
            return
        self.in_flight += 1
        answered = False

        async def send_and_release(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                self.in_flight -= 1
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            if not answered:
                self.in_flight -= 1


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"overloaded: {limit} deliveries in flight, try again later"}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
