"""Test plumbing for the gateway's stand-ins: an app on a real HTTP server, and a client of a gateway
built with changed settings."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_devstack import free_port, wait_until_async
from paid_gateway.app import create_app
from paid_gateway.config import GatewaySettings
from paid_runtime.http import make_server
from paid_runtime.messaging import publish_event


@asynccontextmanager
async def served(app: FastAPI, what: str) -> AsyncIterator[str]:
    """`app` on a real HTTP server on a free port, and its address."""
    port = free_port()
    server = make_server(app, "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    await wait_until_async(lambda: server.started, timeout=10, what=what)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def gateway_client(
    settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    **changed: Any,
) -> httpx.AsyncClient:
    """A client of a gateway app (in process) whose settings are `settings` with `changed`."""
    app = create_app(
        settings.model_copy(update=changed),
        publisher=functools.partial(publish_event, broker),
        sessions=sessions,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


Refusal = Callable[[bytes], JSONResponse | None]


class StandInService:
    """A service behind the gateway's proxy: it checks the internal token, records each request as
    (method, path, query, body) and answers `{"served": <path after /api/>}`, unless `refuse`
    answers for the body."""

    def __init__(self, internal_token: str, methods: list[str], refuse: Refusal | None = None) -> None:
        self.received: list[tuple[str, str, str, bytes]] = []
        self.app = FastAPI()

        @self.app.api_route("/api/{rest:path}", methods=methods, response_model=None)
        async def answer(request: Request, rest: str) -> dict[str, Any] | JSONResponse:
            if request.headers.get("authorization") != f"Bearer {internal_token}":
                raise HTTPException(401, "internal token required")
            body = await request.body()
            self.received.append((request.method, request.url.path, request.url.query, body))
            refusal = refuse(body) if refuse else None
            return refusal if refusal is not None else {"served": rest}


GatewayFor = Callable[[str], httpx.AsyncClient]


def gateway_forwarding_to(
    settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    service: str,
    url: str,
) -> GatewayFor:
    """Clients of gateways that forward `service`'s routes to `url` with a given internal token."""

    def client(internal_token: str) -> httpx.AsyncClient:
        forwarding = {f"{service}_api_url": url, f"{service}_api_token": internal_token}
        return gateway_client(settings, broker, sessions, **forwarding)

    return client
