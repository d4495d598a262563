"""Stand-ins for the far ends of the notifier's channels, for tests: a Slack incoming webhook, a webhook
receiver that verifies signatures and dedupes by idempotency key as a third party would (from the
notifier's README, not its code), and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paid_devstack.ports import free_port
from paid_threaded_server import ThreadedServer


class HttpReceiver(ThreadedServer):
    """Answers 503 to its first `down_for` requests (the receiver is down), 200 afterwards. With a
    `secret` it checks signatures (401 when wrong); `accepted` holds each idempotency key's first body."""

    def __init__(self, *, down_for: int = 0, secret: str | None = None) -> None:
        super().__init__()
        self.down_for = down_for
        self.secret = secret
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.accepted: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def build_app(self) -> Starlette:
        async def handle(request: Request) -> Response:
            body = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            self.requests.append((headers, body))
            if len(self.requests) <= self.down_for:
                return Response("down", status_code=503)
            if self.secret is not None:
                signed = headers.get("x-paid-timestamp", "").encode() + b"." + body
                expected = "sha256=" + hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(headers.get("x-paid-signature-256", ""), expected):
                    return Response("bad signature", status_code=401)
            key = headers.get("idempotency-key") or f"request-{len(self.requests)}"
            self.accepted.setdefault(key, json.loads(body))
            return Response("ok")

        return Starlette(routes=[Route("/hook", handle, methods=["POST"])])

    def bodies(self) -> list[Any]:
        """What a receiver without dedupe would have taken in (the 200s)."""
        return [json.loads(body) for _, body in self.requests[self.down_for :]]


class SmtpReceiver:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()
