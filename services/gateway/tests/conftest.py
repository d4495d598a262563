from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from faststream.nats import NatsBroker
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_devstack import free_port, wait_until_async
from paid_devstack.nats import NatsServer
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.test_servers import scratch_postgres
from paid_gateway.app import create_app
from paid_gateway.auth.repo import create_token
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings
from paid_gateway.main import MIGRATIONS
from paid_github_emulator import GitHubEmulator
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.http import make_server
from paid_runtime.messaging import ensure_streams, make_broker, publish_event
from paid_runtime.telemetry import setup_tracing

# Helper modules beside the tests (gateway_run_events.py) import by name under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))

FIXTURES = Path("/work/shared/fixtures/github-webhooks")
SECRET = "test-webhook-secret"
ROTATED_SECRET = "the-next-webhook-secret"
FIXTURE_OWNER, FIXTURE_REPO = "Codertocat", "Hello-World"  # as in the octokit payload examples
OUTSIDER = "outsider"
GITHUB_TOKEN = "ghp_gateway_tests"
GitHubFixture = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def github_fixture() -> GitHubFixture:
    """Loads a real webhook payload: `github_fixture("issues", "labeled")`, `github_fixture("ping")`."""

    def load(event: str, action: str | None = None) -> dict[str, Any]:
        name = f"{action}.payload.json" if action else "payload.json"
        payload: dict[str, Any] = json.loads((FIXTURES / event / name).read_text())
        return payload

    return load


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    setup_tracing("gateway-tests", None).add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    with scratch_postgres("gateway") as server:
        yield server


@pytest.fixture(scope="session")
async def engine(postgres: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(postgres.url)
    await migrate(engine, schema="gateway", migrations_dir=MIGRATIONS)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats"), sync_always=False) as server:
        server.provision_streams()  # as `paid up` does: the service processes started here wait for them
        yield server


@pytest.fixture(scope="session")
async def broker(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_server.url, "gateway-tests")
    await broker.connect()
    await ensure_streams(broker)
    yield broker
    await broker.stop()


@pytest.fixture(scope="session")
def github() -> Iterator[GitHubEmulator]:
    """The GitHub the gateway asks about permissions: the fixtures' repository, owned by their sender."""
    with GitHubEmulator() as emu:
        emu.add_user(FIXTURE_OWNER, GITHUB_TOKEN)
        emu.add_user(OUTSIDER)
        emu.create_repository(FIXTURE_OWNER, FIXTURE_REPO, {"README.md": "# Hello\n"})
        yield emu


@pytest.fixture
def settings(github: GitHubEmulator) -> GatewaySettings:
    return GatewaySettings(
        webhook_secrets=[SECRET, ROTATED_SECRET],
        max_body_bytes=64 * 1024,
        publish_timeout_seconds=2.0,
        github_api_url=github.api_url,
        github_token=GITHUB_TOKEN,
        cache_seconds=0,
    )


@pytest.fixture
async def client(
    settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    spans: InMemorySpanExporter,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, publisher=functools.partial(publish_event, broker), sessions=sessions)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


# --- API (issue 7): an app with a bootstrap admin token and one stored token per role -------------

ADMIN_TOKEN = "bootstrap-admin-token-for-the-gateway-tests"


@pytest.fixture
def api_settings() -> GatewaySettings:
    return GatewaySettings(
        webhook_secrets=[SECRET],
        admin_token=ADMIN_TOKEN,
        temporal_ui_url="http://temporal-ui.test",
        trace_ui_url="http://traces.test/trace/{trace_id}",
        stream_poll_seconds=0.2,
    )


@pytest.fixture
def api_app(
    api_settings: GatewaySettings, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession]
) -> FastAPI:
    return create_app(api_settings, publisher=functools.partial(publish_event, broker), sessions=sessions)


@pytest.fixture
async def api(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.fixture
async def role_tokens(sessions: async_sessionmaker[AsyncSession]) -> dict[Role, str]:
    tokens: dict[Role, str] = {}
    async with sessions() as session:
        for role in Role:
            _, tokens[role] = await create_token(session, name=f"test-{role.value}", role=role)
    return tokens


@pytest.fixture
async def live_api(api_app: FastAPI) -> AsyncIterator[str]:
    """The API on a real HTTP server (uvicorn), for streams and clients outside the process."""
    port = free_port()
    server = make_server(api_app, "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    await wait_until_async(lambda: server.started, timeout=10, what="the gateway's HTTP server")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
