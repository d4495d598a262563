"""`POST /webhooks/github`: verify, deduplicate, translate and publish GitHub's webhook deliveries.

Order for a delivery that asks for work: look up the delivery record (already published -> duplicate),
publish (idempotent: the delivery id is the Nats-Msg-Id), then record it. A crash between publishing
and recording loses nothing: GitHub's redelivery is dropped by JetStream inside its duplicate window,
and the record covers redeliveries after the window.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse
from opentelemetry import trace
from prometheus_client import Counter

from paid_gateway import repo
from paid_gateway.bodies import BadContentLengthError, BodyTooLargeError, read_limited_body
from paid_gateway.deps import PublisherDep, SessionDep, SettingsDep
from paid_gateway.signatures import verify
from paid_gateway.triggers import Delivery, Ignored, interpret

log = logging.getLogger(__name__)
router = APIRouter()

DELIVERIES = Counter(
    "paid_gateway_webhook_deliveries", "GitHub webhook deliveries by outcome", ["event", "outcome"]
)


@router.post("/webhooks/github")
async def receive_github_webhook(
    request: Request,
    settings: SettingsDep,
    publish: PublisherDep,
    session: SessionDep,
    x_hub_signature_256: Annotated[str | None, Header()] = None,
    x_github_event: Annotated[str | None, Header()] = None,
    x_github_delivery: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    try:
        body = await read_limited_body(request, settings.max_body_bytes)
    except BodyTooLargeError:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "payload too large") from None
    except BadContentLengthError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid Content-Length") from None
    if not verify(settings.webhook_secrets, body, x_hub_signature_256):
        DELIVERIES.labels(event="-", outcome="unauthorized").inc()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "signature missing or invalid")
    if not x_github_event or not x_github_delivery:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "X-GitHub-Event and X-GitHub-Delivery are required")
    payload = _parse_json_object(body)
    span = trace.get_current_span()
    span.set_attribute("github.event", x_github_event)
    span.set_attribute("github.delivery", x_github_delivery)

    if x_github_event == "ping":
        DELIVERIES.labels(event="ping", outcome="pong").inc()
        return JSONResponse({"pong": True})
    delivery = Delivery(event=x_github_event, delivery_id=x_github_delivery, payload=payload)
    event = interpret(delivery, build_label=settings.build_label, plan_label=settings.plan_label)
    if isinstance(event, Ignored):
        DELIVERIES.labels(event=x_github_event, outcome="ignored").inc()
        return JSONResponse({"accepted": False, "reason": event.reason}, status.HTTP_202_ACCEPTED)

    try:
        known = await repo.find_delivery(session, delivery_id=delivery.delivery_id)
    except Exception:
        log.exception("delivery %s: cannot read the deliveries table", delivery.delivery_id)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database unavailable") from None
    if known is not None:
        DELIVERIES.labels(event=x_github_event, outcome="duplicate").inc()
        return JSONResponse({"duplicate": True, "event_id": known.published_event_id})

    try:
        async with asyncio.timeout(settings.publish_timeout_seconds):
            await publish(event)
    except Exception:
        log.exception("delivery %s: publishing %s failed", delivery.delivery_id, event.type)
        DELIVERIES.labels(event=x_github_event, outcome="unavailable").inc()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "event bus unavailable") from None

    try:
        await repo.record_delivery(
            session,
            delivery_id=delivery.delivery_id,
            event=delivery.event,
            action=delivery.action,
            repo=delivery.repo,
            published_event_id=event.event_id,
        )
    except Exception:
        # Published already, so the work is accepted; only dedup beyond JetStream's window is at risk.
        log.exception("delivery %s: published but not recorded", delivery.delivery_id)
    DELIVERIES.labels(event=x_github_event, outcome="published").inc()
    log.info(
        "delivery %s published as %s",
        delivery.delivery_id,
        event.type,
        extra={"repo": event.issue.repo.full_name, "issue": event.issue.number},
    )
    return JSONResponse({"accepted": True, "event_id": event.event_id}, status.HTTP_202_ACCEPTED)


def _parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not a JSON object")
    return payload
