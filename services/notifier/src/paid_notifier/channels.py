"""Sending one notification to one channel: Slack's incoming webhook, a signed webhook, or email.

A send either returns (delivered) or raises `SendFailed` (to be retried, or not when `permanent`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import aiosmtplib
import httpx

from paid_contracts import Event
from paid_contracts.notifications import ChannelSpec
from paid_notifier.messages import email_message, slack_payload, webhook_body

SIGNATURE_HEADER = "X-Paid-Signature-256"
TIMESTAMP_HEADER = "X-Paid-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Paid-Event"


class SendFailed(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpRelay:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0


def idempotency_key(event_id: str, channel: str) -> str:
    """One key per notification and channel, the same on every attempt."""
    return hashlib.sha256(f"{event_id}\n{channel}".encode()).hexdigest()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>`: the receiver recomputes it with the
    shared secret, and refuses an old timestamp to stop replays."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class Senders:
    def __init__(self, http: httpx.AsyncClient, smtp: SmtpRelay) -> None:
        self.http = http
        self.smtp = smtp

    async def send(self, channel: ChannelSpec, event: Event) -> None:
        if channel.kind == "slack":
            await self._post(channel, json.dumps(slack_payload(event)).encode(), {})
        elif channel.kind == "webhook":
            body = webhook_body(event)
            timestamp = str(int(time.time()))
            secret = channel.secret.get_secret_value() if channel.secret else ""
            headers = {
                SIGNATURE_HEADER: signature(secret, timestamp, body),
                TIMESTAMP_HEADER: timestamp,
                IDEMPOTENCY_HEADER: idempotency_key(event.event_id, channel.name),
                EVENT_HEADER: event.type,
            }
            await self._post(channel, body, headers)
        else:
            await self._mail(channel, event)

    async def _post(self, channel: ChannelSpec, body: bytes, headers: dict[str, str]) -> None:
        headers = {"content-type": "application/json", "user-agent": "paid-notifier", **headers}
        try:
            answer = await self.http.post(channel.target, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise SendFailed(f"{channel.name}: {type(error).__name__}") from None
        if answer.status_code >= 300:
            # 4xx other than timeouts and rate limits: the receiver refuses this request for good.
            permanent = 400 <= answer.status_code < 500 and answer.status_code not in (408, 409, 425, 429)
            raise SendFailed(f"{channel.name}: HTTP {answer.status_code}", permanent=permanent)

    async def _mail(self, channel: ChannelSpec, event: Event) -> None:
        relay = self.smtp
        message = email_message(event, sender=relay.sender, recipient=channel.target)
        try:
            await aiosmtplib.send(
                message,
                hostname=relay.host,
                port=relay.port,
                username=relay.username or None,
                password=relay.password or None,
                start_tls=relay.starttls,
                timeout=relay.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            raise SendFailed(f"{channel.name}: recipient refused", permanent=True) from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise SendFailed(f"{channel.name}: {type(error).__name__}") from None
