"""The gateway's FastAPI application: GitHub webhooks plus the health routes every service has."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway import webhooks
from paid_gateway.config import GatewaySettings
from paid_gateway.deps import Publisher
from paid_gateway.project_registry import ProjectCache
from paid_gateway.routers import projects
from paid_gateway.trust import TrustChecker
from paid_runtime.http import ReadinessCheck, add_health_routes
from paid_runtime.secretbox import secret_box

SERVICE = "gateway"


def create_app(
    settings: GatewaySettings,
    *,
    publisher: Publisher,
    sessions: async_sessionmaker[AsyncSession],
    checks: dict[str, ReadinessCheck] | None = None,
) -> FastAPI:
    app = FastAPI(title="paid-gateway", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.publisher = publisher
    app.state.sessions = sessions
    app.state.secret_box = box = secret_box(settings.secrets_keys, environment=settings.environment)
    app.state.projects = ProjectCache(sessions, box, settings.cache_seconds)
    app.state.trust = TrustChecker(settings.github_api_url, settings.github_token, settings.cache_seconds)
    app.include_router(webhooks.router)
    app.include_router(projects.router)
    add_health_routes(app, SERVICE, checks or {})
    # The request's server span starts the trace that the published event carries on.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    return app
