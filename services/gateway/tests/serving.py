"""Test plumbing for the gateway's stand-ins: an app on a real HTTP server, and a client of a gateway
built with changed settings."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
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
