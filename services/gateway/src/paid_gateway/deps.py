"""What routes depend on, as `Annotated` dependencies resolved from the app's state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import Event
from paid_gateway.config import GatewaySettings

Publisher = Callable[[Event], Awaitable[object]]
"""Publishes an event to JetStream and returns once the server acknowledged it; raises otherwise."""


def get_settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def get_publisher(request: Request) -> Publisher:
    publisher: Publisher = request.app.state.publisher
    return publisher


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        yield session


SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
PublisherDep = Annotated[Publisher, Depends(get_publisher)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
