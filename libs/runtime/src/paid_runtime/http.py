"""Each service's small HTTP face: /healthz (alive), /readyz (dependencies answer), /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Literal

import httpx
import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from paid_runtime.temporal import TEMPORAL_METRICS_URL

ReadinessCheck = Callable[[], Awaitable[bool]]


def add_health_routes(app: FastAPI, service: str, checks: dict[str, ReadinessCheck]) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"service": service, "status": "alive"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results = dict(zip(checks, await asyncio.gather(*(_safe(c) for c in checks.values())), strict=True))
        ready = all(results.values())
        return JSONResponse(
            {"service": service, "ready": ready, "checks": results}, status_code=200 if ready else 503
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest() + await _temporal_metrics(), media_type=CONTENT_TYPE_LATEST)


async def _temporal_metrics() -> bytes:
    """The Temporal core's own figures (worker slots, polls, latencies), when this process has a client."""
    if not TEMPORAL_METRICS_URL:
        return b""
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            response = await client.get(TEMPORAL_METRICS_URL[0])
        return response.content if response.status_code == 200 else b""
    except httpx.HTTPError:
        return b""


async def _safe(check: ReadinessCheck) -> bool:
    try:
        return await asyncio.wait_for(check(), timeout=2)
    except Exception:
        return False


def health_app(service: str, checks: dict[str, ReadinessCheck]) -> FastAPI:
    app = FastAPI(title=f"paid-{service}", docs_url=None, redoc_url=None, openapi_url=None)
    add_health_routes(app, service, checks)
    return app


class _EmbeddedServer(uvicorn.Server):
    """Leaves signal handling to the ServiceHost that owns the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def make_server(
    app: FastAPI, host: str, port: int, *, lifespan: Literal["auto", "on", "off"] = "off"
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan=lifespan,
        access_log=False,
    )
    return _EmbeddedServer(config)
