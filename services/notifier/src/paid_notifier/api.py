"""The notifier's channels API, for the gateway (which serves it under its own roles) and operators.

Trust boundary: every route requires the internal token (`PAID_NOTIFIER_API_TOKEN`); empty refuses
every call. Answers never carry a webhook's secret, and show a Slack URL (itself a credential) only up
to its host. A body that is not a valid channel gets a 422 whose `detail` names the field."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from paid_contracts.notifications import ChannelSpec, NotificationKind
from paid_notifier.store import Store

bearer = HTTPBearer(auto_error=False, description="the internal token shared with the gateway")


class ChannelPublic(BaseModel):
    name: str
    kind: str
    target: str
    project: str | None
    events: tuple[NotificationKind, ...]
    signed: bool


def public(channel: ChannelSpec) -> ChannelPublic:
    target = channel.target
    if channel.kind == "slack":
        target = f"{urlsplit(target).scheme}://{urlsplit(target).hostname}/…"
    return ChannelPublic(
        name=channel.name,
        kind=channel.kind,
        target=target,
        project=channel.project,
        events=channel.events,
        signed=channel.secret is not None,
    )


async def _internal_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    expected: str = request.app.state.notifier_api_token
    presented = credentials.credentials if credentials else ""
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the notifier's API answers the gateway only: send its internal token",
            {"WWW-Authenticate": "Bearer"},
        )


def _store(request: Request) -> Store:
    store: Store = request.app.state.notifier_store
    return store


StoreDep = Annotated[Store, Depends(_store)]


def make_router() -> APIRouter:
    router = APIRouter(prefix="/api", dependencies=[Depends(_internal_caller)])

    @router.get("/channels")
    async def list_channels(store: StoreDep) -> list[ChannelPublic]:
        return [public(channel) for channel in await store.channels()]

    @router.put("/channels/{name}")
    async def put_channel(name: str, channel: ChannelSpec, store: StoreDep) -> ChannelPublic:
        if channel.name != name:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "name: differs from the path")
        await store.save_channels([channel])
        return public(channel)

    @router.delete("/channels/{name}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_channel(name: str, store: StoreDep) -> None:
        if not await store.delete_channel(name):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no channel {name[:64]!r}")

    return router


def mount(app: FastAPI, store: Store, *, token: str) -> FastAPI:
    app.state.notifier_api_token = token
    app.state.notifier_store = store
    app.include_router(make_router())
    return app
