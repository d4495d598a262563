"""What routes depend on, as `Annotated` dependencies resolved from the app's state.

The getters are `async def` although they do not wait: FastAPI runs a plain `def` dependency in its
thread pool, two thread hops per request for a dictionary read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from paid_contracts import Event
from paid_gateway.config import GatewaySettings
from paid_gateway.projections.hub import ChangeHub

Publisher = Callable[[Event], Awaitable[object]]
"""Publishes an event to JetStream and returns once the server acknowledged it; raises otherwise."""


async def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


async def get_publisher(request: Request) -> Publisher:
    publisher: Publisher = request.app.state.publisher
    return publisher


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        yield session


TemporalProvider = Callable[[], Awaitable[Client]]
"""Gives the Temporal client, connecting on first use (so the API serves reads while Temporal is down)."""


async def get_temporal(request: Request) -> TemporalProvider:
    provider: TemporalProvider = request.app.state.temporal
    return provider


async def get_hub(request: Request) -> ChangeHub:
    hub: ChangeHub = request.app.state.hub
    return hub


SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[TemporalProvider, Depends(get_temporal)]
HubDep = Annotated[ChangeHub, Depends(get_hub)]


async def get_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return sessions


SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]
"""For long-lived responses (live streams), which open a short session per read."""
