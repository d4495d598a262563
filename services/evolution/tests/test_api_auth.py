"""Evolution's API answers only the gateway's internal token; health and metrics stay open."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_evolution import api
from paid_runtime.http import health_app

TOKEN = "internal-token-of-the-gateway"


OPEN = {"/healthz", "/readyz", "/metrics"}
PARAMETERS = {
    "{category}": "coding",
    "{project:path}": "acme/app",
    "{version_id}": "coding@1",
    "{experiment_id}": "x",
}


def data_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every route but health and metrics, with its path parameters filled in."""
    found = []
    for route in iter_route_contexts(app.routes):
        if route.path is None or route.path in OPEN:
            continue
        path = route.path
        for parameter, value in PARAMETERS.items():
            path = path.replace(parameter, value)
        found += [(method, path) for method in sorted((route.methods or {"GET"}) - {"HEAD"})]
    return found


def app_with(sessions: async_sessionmaker[AsyncSession], token: str) -> FastAPI:
    return api.mount(health_app("evolution", {}), sessions, token=token)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer "},
    ],
    ids=["none", "wrong", "not-bearer", "empty"],
)
async def test_every_data_route_refuses_a_caller_without_the_internal_token(
    sessions: async_sessionmaker[AsyncSession], headers: dict[str, str]
) -> None:
    app = app_with(sessions, TOKEN)
    routes = data_routes(app)
    assert len(routes) == 9
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://evolution") as http:
        for method, path in routes:
            response = await http.request(method, path, headers=headers, json={"approved": True})
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"


async def test_without_a_configured_token_nothing_is_served(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    app = app_with(sessions, "")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://evolution") as http:
        for method, path in data_routes(app):
            assert (await http.request(method, path, headers={"Authorization": "Bearer "})).status_code == 401


async def test_the_internal_token_is_let_through_and_health_stays_open(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    app = app_with(sessions, TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://evolution") as http:
        prompts = await http.get("/api/prompts", headers={"Authorization": f"Bearer {TOKEN}"})
        health = await http.get("/healthz")
        metrics = await http.get("/metrics")
    assert prompts.status_code == 200, prompts.text
    assert (health.status_code, metrics.status_code) == (200, 200)
