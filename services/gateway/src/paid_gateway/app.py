"""The gateway's FastAPI application: GitHub webhooks, the API, the dashboard and the health routes."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway import dashboard, token_service, webhooks
from paid_gateway.admission import WebhookAdmission
from paid_gateway.budget_caps import ExecutorBudgets, Requester
from paid_gateway.config import GatewaySettings
from paid_gateway.delivery_log import DeliveryLog
from paid_gateway.deps import Publisher, TemporalProvider
from paid_gateway.errors import install_error_handlers, refuse_nul_characters
from paid_gateway.project_registry import ProjectCache
from paid_gateway.projections.hub import ChangeHub
from paid_gateway.routers import (
    budgets,
    control,
    costs,
    evolution,
    notifications,
    projects,
    queue,
    runs,
    tokens,
)
from paid_gateway.temporal_client import LazyTemporal
from paid_gateway.trust import TrustChecker
from paid_runtime.http import ReadinessCheck, add_health_routes
from paid_runtime.secretbox import secret_box
from paid_runtime.temporal_access import temporal_access

SERVICE = "gateway"
WEBHOOK_PATH = webhooks.PATH


def create_app(
    settings: GatewaySettings,
    *,
    publisher: Publisher,
    sessions: async_sessionmaker[AsyncSession],
    checks: dict[str, ReadinessCheck] | None = None,
    temporal: TemporalProvider | None = None,
    hub: ChangeHub | None = None,
    requester: Requester | None = None,
) -> FastAPI:
    """`requester`: core NATS requests to other services (the executor's budget caps)."""
    app = FastAPI(
        title="paid-gateway",
        summary="Paid's API: runs, their live output and their control",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.publisher = publisher
    app.state.sessions = sessions
    app.state.deliveries = DeliveryLog(sessions)
    app.state.secret_box = box = secret_box(settings.secrets_keys, environment=settings.environment)
    app.state.projects = ProjectCache(sessions, box, settings.cache_seconds)
    app.state.minter = token_service.minter_from_settings(settings)  # the App's key lives here only
    app.state.trust = TrustChecker(settings.github_api_url, settings.github_token, settings.cache_seconds)
    if temporal is None:
        access = temporal_access(settings, SERVICE)
        temporal = LazyTemporal(access.target, access.namespace, tls=access.tls, api_key=access.api_key)
    app.state.temporal = temporal
    app.state.hub = hub or ChangeHub()
    app.state.executor_budgets = ExecutorBudgets(requester)
    install_error_handlers(app)
    app.add_middleware(WebhookAdmission, path=WEBHOOK_PATH, limit=settings.webhook_max_in_flight)
    app.include_router(webhooks.router)
    for api in (
        projects.router,
        runs.router,
        control.router,
        costs.router,
        budgets.router,
        queue.router,
        tokens.router,
        evolution.router,
    ):
        app.include_router(api, dependencies=[Depends(refuse_nul_characters)])
    app.include_router(notifications.router, dependencies=[Depends(refuse_nul_characters)])
    add_health_routes(app, SERVICE, checks or {})
    dashboard.install(app)
    # The request's server span starts the trace that the published event carries on. No span per ASGI
    # message (receive, send): two or three more per request (one per chunk of a live stream), ~0.15 ms
    # of CPU each webhook delivery, and nothing a reader of the trace needs.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,readyz,metrics", exclude_spans=["receive", "send"]
    )
    return app
