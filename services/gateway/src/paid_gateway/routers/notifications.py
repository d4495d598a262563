"""The notifier's channels API served under the gateway's roles: `/api/notifications/channels`.

Trust boundary: the notifier answers only the internal token the two services share
(`PAID_GATEWAY_NOTIFIER_API_TOKEN`, the notifier's `PAID_NOTIFIER_API_TOKEN`); the dashboard and the
CLI never hold it. Channels carry credentials (webhook secrets, Slack URLs) and decide where Paid's
news goes, so every route needs an admin. The notifier validates (a 422 naming the field, given here
in the gateway's error shape) and never answers with a secret; its other answers are passed on."""

from __future__ import annotations

import re

import httpx
from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError

from paid_gateway.auth.deps import Admin
from paid_gateway.config import GatewaySettings
from paid_gateway.internal_apis import InternalApi

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
    notifier = InternalApi(
        "the notifier",
        settings.notifier_api_url,
        settings.notifier_api_token,
        "PAID_GATEWAY_NOTIFIER_API_TOKEN",
    )
    answer = await notifier.call(request.method, path, content=await request.body())
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
