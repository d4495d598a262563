"""`POST /webhooks/github`: verify, deduplicate, translate and publish GitHub's webhook deliveries.

Signatures: a delivery from a GitHub App's hook (`X-GitHub-Hook-Installation-Target-Type: integration`)
is checked with the configured App's webhook secret only, chosen from the headers before the body is
parsed; one for any other App target is refused. Other deliveries: any of the gateway's global
secrets, or the secrets of the project the payload names (its current one and, during a rotation,
the previous one). Order for a delivery that asks for work:
look up the delivery record (already published -> duplicate), check that the labeler is trusted,
publish (idempotent: the event id comes from the GitHub change and is the Nats-Msg-Id), answer, then
record it. A crash between publishing and recording loses nothing: GitHub's redelivery is dropped by
JetStream inside its duplicate window, and the record covers redeliveries after the window.
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
from starlette.background import BackgroundTask

from paid_contracts import Event, LabelMapping, WorkRequested
from paid_gateway import app_installations, token_service
from paid_gateway.bodies import BadContentLengthError, BodyTooLargeError, read_limited_body
from paid_gateway.config import GatewaySettings
from paid_gateway.delivery_log import DeliveryLog
from paid_gateway.deps import PublisherDep, SettingsDep
from paid_gateway.project_registry import ProjectCache, ProjectView
from paid_gateway.repo import DeliveryRecord
from paid_gateway.signatures import verify
from paid_gateway.token_minter import MintError
from paid_gateway.triggers import Delivery, Ignored, interpret
from paid_gateway.trust import TrustChecker
from paid_runtime.github_trust import GitHubUnavailableError

log = logging.getLogger(__name__)
router = APIRouter()
PATH = "/webhooks/github"

DELIVERIES = Counter(
    "paid_gateway_webhook_deliveries", "GitHub webhook deliveries by outcome", ["event", "outcome"]
)


@router.post(PATH)
async def receive_github_webhook(
    request: Request,
    settings: SettingsDep,
    publish: PublisherDep,
    x_hub_signature_256: Annotated[str | None, Header()] = None,
    x_github_event: Annotated[str | None, Header()] = None,
    x_github_delivery: Annotated[str | None, Header()] = None,
    x_github_hook_installation_target_type: Annotated[str | None, Header()] = None,
    x_github_hook_installation_target_id: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    projects: ProjectCache = request.app.state.projects
    trust: TrustChecker = request.app.state.trust
    try:
        body = await read_limited_body(request, settings.max_body_bytes)
    except BodyTooLargeError:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "payload too large") from None
    except BadContentLengthError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid Content-Length") from None
    from_app = x_github_hook_installation_target_type == "integration"
    if from_app:
        _authenticate_app(settings, body, x_hub_signature_256, x_github_hook_installation_target_id)
        project = None
    else:
        project = await _authenticate(projects, settings, body, x_hub_signature_256)
    if not x_github_event or not x_github_delivery:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "X-GitHub-Event and X-GitHub-Delivery are required")
    payload = _parse_json_object(body)
    span = trace.get_current_span()
    span.set_attribute("github.event", x_github_event)
    span.set_attribute("github.delivery", x_github_delivery)

    if x_github_event == "ping":
        DELIVERIES.labels(event="ping", outcome="pong").inc()
        return JSONResponse({"pong": True})
    if from_app and x_github_event in app_installations.EVENTS:
        return await _installation_changed(request, settings, publish, x_github_event, payload)
    delivery = Delivery(event=x_github_event, delivery_id=x_github_delivery, payload=payload)
    if project is None and delivery.repo:
        project = await _project(projects, delivery.repo)
    labels = project.labels if project else LabelMapping(build=settings.build_label, plan=settings.plan_label)
    event = interpret(delivery, labels=labels)
    if isinstance(event, Ignored):
        DELIVERIES.labels(event=x_github_event, outcome="ignored").inc()
        return JSONResponse({"accepted": False, "reason": event.reason}, status.HTTP_202_ACCEPTED)

    deliveries: DeliveryLog = request.app.state.deliveries
    try:
        known = await deliveries.published_event_id(delivery.delivery_id)
    except Exception:
        log.exception("delivery %s: cannot read the deliveries table", delivery.delivery_id)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database unavailable") from None
    if known is not None:
        DELIVERIES.labels(event=x_github_event, outcome="duplicate").inc()
        return JSONResponse({"duplicate": True, "event_id": known})

    if isinstance(event, WorkRequested):
        token = await _project_token(request, event.issue.repo.full_name, project)
        refusal = await _refusal_if_untrusted(trust, event, project, token)
        if refusal is not None:
            DELIVERIES.labels(event=x_github_event, outcome="untrusted").inc()
            return JSONResponse(
                {"accepted": False, "reason": refusal[0]}, status.HTTP_202_ACCEPTED, background=refusal[1]
            )

    try:
        async with asyncio.timeout(settings.publish_timeout_seconds):
            await publish(event)
    except Exception:
        log.exception("delivery %s: publishing %s failed", delivery.delivery_id, event.type)
        DELIVERIES.labels(event=x_github_event, outcome="unavailable").inc()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "event bus unavailable") from None

    DELIVERIES.labels(event=x_github_event, outcome="published").inc()
    log.info(
        "delivery %s published as %s",
        delivery.delivery_id,
        event.type,
        extra={"repo": event.correlation.repo, "issue": event.correlation.issue},
    )
    # Recorded after answering: the record only matters for a redelivery beyond JetStream's duplicate
    # window, and its write (a commit, so an fsync, grouped with the other deliveries' records) would
    # otherwise sit in every acknowledgement.
    record = BackgroundTask(_record, deliveries, delivery, event.event_id)
    return JSONResponse(
        {"accepted": True, "event_id": event.event_id}, status.HTTP_202_ACCEPTED, background=record
    )


async def _installation_changed(
    request: Request, settings: GatewaySettings, publish: PublisherDep, event: str, payload: dict[str, Any]
) -> JSONResponse:
    async def announce(announcement: Event) -> None:
        async with asyncio.timeout(settings.publish_timeout_seconds):
            await publish(announcement)

    try:
        records = await app_installations.apply(
            event,
            payload,
            sessions=request.app.state.sessions,
            settings=settings,
            box=request.app.state.secret_box,
            announce=announce,
            cache=request.app.state.projects,
        )
    except Exception:
        log.exception("%s delivery: projects not changed", event)
        DELIVERIES.labels(event=event, outcome="unavailable").inc()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "projects unavailable") from None
    DELIVERIES.labels(event=event, outcome="projects").inc()
    return JSONResponse({"accepted": True, "projects": records}, status.HTTP_202_ACCEPTED)


async def _record(deliveries: DeliveryLog, delivery: Delivery, event_id: str) -> None:
    record = DeliveryRecord(
        delivery_id=delivery.delivery_id,
        event=delivery.event,
        action=delivery.action,
        repo=delivery.repo,
        published_event_id=event_id,
    )
    try:
        await deliveries.record(record)
    except Exception:
        # Published already, so the work is accepted; only dedup beyond JetStream's window is at risk.
        log.exception("delivery %s: published but not recorded", delivery.delivery_id)


def _authenticate_app(
    settings: GatewaySettings, body: bytes, signature: str | None, target_id: str | None
) -> None:
    """An App delivery: only our App's secret, and only for our App's id (never a global secret)."""
    ours = bool(settings.github_app_id) and target_id == settings.github_app_id
    if not ours or not settings.github_app_webhook_secret:
        DELIVERIES.labels(event="-", outcome="unauthorized").inc()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "delivery for another GitHub App")
    if not verify([settings.github_app_webhook_secret], body, signature):
        DELIVERIES.labels(event="-", outcome="unauthorized").inc()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "signature missing or invalid")


async def _authenticate(
    projects: ProjectCache, settings: GatewaySettings, body: bytes, signature: str | None
) -> ProjectView | None:
    """Verifies the signature; returns the delivery's project when its secret was the one that matched."""
    if verify(settings.webhook_secrets, body, signature):
        return None
    repository = _repository_named(body)
    project = await _project(projects, repository) if repository else None
    if project is None or not verify(project.webhook_secrets, body, signature):
        DELIVERIES.labels(event="-", outcome="unauthorized").inc()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "signature missing or invalid")
    return project


async def _project(projects: ProjectCache, repository: str) -> ProjectView | None:
    try:
        return await projects.get(repository)
    except Exception:
        log.exception("cannot read the project of %s", repository)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database unavailable") from None


async def _project_token(request: Request, repository: str, project: ProjectView | None) -> str | None:
    """The project's credential for the trust check and its comment: a token minted from its App
    installation (issues write, the rest read-only), or its own token; None for the global token."""
    if project is None or project.installation_id is None:
        return project.token if project else None
    try:
        return await token_service.project_token(
            request.app.state.minter, request.app.state.projects, repository, "issues"
        )
    except MintError as error:
        log.warning("no token to check the trigger on %s: %s", repository, error)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no GitHub credential") from None


async def _refusal_if_untrusted(
    trust: TrustChecker, event: WorkRequested, project: ProjectView | None, token: str | None
) -> tuple[str, BackgroundTask] | None:
    issue = event.issue
    try:
        decision = await trust.decide(
            owner=issue.repo.owner,
            name=issue.repo.name,
            login=event.actor,
            allowlist=project.allowlist if project else (),
            token=token,
        )
    except GitHubUnavailableError:
        log.exception("cannot tell whether %s may trigger Paid on %s", event.actor, issue.key)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "GitHub unavailable") from None
    if decision.trusted:
        return None
    task = BackgroundTask(
        trust.refuse,
        owner=issue.repo.owner,
        name=issue.repo.name,
        number=issue.number,
        login=event.actor,
        label=event.label,
        trigger_id=event.event_id,
        token=token,
    )
    return f"untrusted trigger: {decision.reason}", task


def _repository_named(body: bytes) -> str | None:
    """The repository an (as yet unverified) payload names, only to choose which secrets to try."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    repository = payload.get("repository") if isinstance(payload, dict) else None
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    return full_name if isinstance(full_name, str) and full_name.count("/") == 1 else None


def _parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "body is not a JSON object")
    return payload
