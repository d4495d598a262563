"""The notifier's channels API served under the gateway's roles: `/api/notifications/channels`.

Trust boundary: the notifier answers only the internal token the two services share
(`PAID_GATEWAY_NOTIFIER_API_TOKEN`, the notifier's `PAID_NOTIFIER_API_TOKEN`); the dashboard and the
CLI never hold it. Channels carry credentials (webhook secrets, Slack URLs) and decide where Paid's
news goes, so every route needs an admin. The notifier validates (a 422 naming the field, given here
in the gateway's error shape) and never answers with a secret; its other answers are passed on."""

from __future__ import annotations

import logging
import re

import httpx
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError

from paid_gateway.auth.deps import Admin
from paid_gateway.config import GatewaySettings

log = logging.getLogger(__name__)
FORWARDED_TIMEOUT_SECONDS = 30.0
CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")  # as paid_contracts.notifications.ChannelSpec

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("/channels")
async def channels(_: Admin, request: Request) -> Response:
    """Every channel: kind, target (a Slack URL only to its host), project, events, whether signed."""
    return await forward(request, "/channels")


@router.put("/channels/{name}")
async def put_channel(_: Admin, request: Request, name: str) -> Response:
    """Creates or replaces a channel; the body is the channel (services/notifier/README.md)."""
    return await forward(request, f"/channels/{_checked(name)}")


@router.delete("/channels/{name}")
async def delete_channel(_: Admin, request: Request, name: str) -> Response:
    return await forward(request, f"/channels/{_checked(name)}")


def _checked(name: str) -> str:
    if not CHANNEL_NAME.match(name):  # forwarded as a path: nothing that could reach another route
        problem = {
            "loc": ("path", "name"),
            "msg": "lowercase letters, digits, _ and -",
            "type": "value_error",
        }
        raise RequestValidationError([problem])
    return name


async def forward(request: Request, path: str) -> Response:
    settings: GatewaySettings = request.app.state.settings
    if not settings.notifier_api_token:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the notifier's API is not configured here")
    headers = {"Authorization": f"Bearer {settings.notifier_api_token}", "Content-Type": "application/json"}
    try:
        async with httpx.AsyncClient(
            base_url=settings.notifier_api_url, timeout=FORWARDED_TIMEOUT_SECONDS, trust_env=False
        ) as client:
            answer = await client.request(
                request.method, f"/api{path}", content=await request.body(), headers=headers
            )
    except httpx.HTTPError as error:
        log.warning("the notifier's API did not answer %s %s: %s", request.method, path, error)
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, "the notifier's API did not answer") from None
    if answer.status_code == status.HTTP_401_UNAUTHORIZED:  # our internal token, not the caller's
        log.error("the notifier refused the gateway's token: check PAID_GATEWAY_NOTIFIER_API_TOKEN")
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, "the notifier refused the gateway")
    if answer.status_code == status.HTTP_422_UNPROCESSABLE_ENTITY:
        _refuse_as_the_gateway(answer)
    return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type"))


def _refuse_as_the_gateway(answer: httpx.Response) -> None:
    """The notifier's 422 (FastAPI's list of problems) in the gateway's own shape, each field named."""
    try:
        problems = answer.json().get("detail")
    except (ValueError, AttributeError):
        problems = None
    if isinstance(problems, list) and all(isinstance(problem, dict) for problem in problems):
        raise RequestValidationError(problems)
