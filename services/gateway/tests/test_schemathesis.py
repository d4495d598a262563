"""schemathesis against the published OpenAPI spec of a running gateway: no request, valid or not,
gets a 5xx, every error carries a clear `detail`, and 2xx answers match their documented schema.

Bounded for the default suite; a longer run: `PAID_FUZZ_EXAMPLES=1000 .venv/bin/pytest
services/gateway/tests/test_schemathesis.py` (see services/gateway/README.md).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI, HTTPException, Request
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from paid_contracts.budget_caps import BudgetsReply, SetProjectBudget
from paid_devstack import free_port, wait_until
from paid_devstack.nats import NatsServer
from paid_devstack.postgres import EmbeddedPostgres
from paid_gateway.app import create_app
from paid_gateway.config import GatewaySettings
from paid_runtime.database import make_engine, session_factory
from paid_runtime.http import make_server
from paid_runtime.messaging import ensure_streams, make_broker, publish_event

ADMIN = "bootstrap-admin-token-for-the-fuzzing-gateway"
EXAMPLES = int(os.environ.get("PAID_FUZZ_EXAMPLES", "15"))
STREAMS = r"/stream$"  # endless by design: covered by test_api_runs and the authorization matrix
# Reads Temporal's visibility, which this gateway has not (it answers 503, as it should while Temporal is
# away); test_queue.py covers its 200 on a Temporal dev server and its 503.
QUEUE = r"^/api/queue$"


EVOLUTION_TOKEN = "internal-token-of-the-fuzzing-gateway"


def empty_evolution() -> FastAPI:
    """Stands in for evolution behind /api/evolution (and the notifier behind /api/notifications): the
    gateway's forwarding is what is fuzzed here (their own APIs have their tests); it answers like
    evolution with nothing in its registry."""
    app = FastAPI()

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def nothing_here(request: Request, rest: str) -> None:
        if request.headers.get("authorization") != f"Bearer {EVOLUTION_TOKEN}":
            raise HTTPException(401, "internal token required")
        raise HTTPException(404, f"no such prompt, version or experiment: {rest}")

    return app


async def executor_with_no_caps(subject: str, body: bytes, timeout: float) -> bytes:
    """Stands in for the executor behind /api/budgets/{owner}/{name}: it takes every valid request
    and keeps no caps (the executor's side has its tests)."""
    if subject == SetProjectBudget.SUBJECT:
        SetProjectBudget.model_validate_json(body)  # what the gateway sends must be what it reads
    return BudgetsReply(ok=True).model_dump_json().encode()


class ThreadedGateway:
    """The gateway on its own event loop and thread, so that synchronous schemathesis can call it."""

    def __init__(self, database_url: str, nats_url: str) -> None:
        self.database_url = database_url
        self.nats_url = nats_url
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: Any = None
        self._evolution: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedGateway:
        self.thread.start()
        self._done = asyncio.run_coroutine_threadsafe(self._serve(), self.loop)
        wait_until(lambda: self._server is not None and self._server.started, timeout=30, what="the gateway")
        return self

    async def _serve(self) -> None:
        engine = make_engine(self.database_url)
        broker = make_broker(self.nats_url, "gateway-fuzz")
        await broker.connect()
        await ensure_streams(broker)
        evolution_port = free_port()
        gateway_settings = GatewaySettings(
            webhook_secrets=["fuzz-webhook-secret"],
            admin_token=ADMIN,
            temporal_target="127.0.0.1:1",
            evolution_api_url=f"http://127.0.0.1:{evolution_port}",
            evolution_api_token=EVOLUTION_TOKEN,
            notifier_api_url=f"http://127.0.0.1:{evolution_port}",
            notifier_api_token=EVOLUTION_TOKEN,
        )

        async def publish(event: Any) -> object:
            return await publish_event(broker, event)

        app = create_app(
            gateway_settings,
            publisher=publish,
            sessions=session_factory(engine),
            requester=executor_with_no_caps,
        )
        self._server = make_server(app, "127.0.0.1", self.port)
        self._evolution = make_server(empty_evolution(), "127.0.0.1", evolution_port)
        try:
            await asyncio.gather(self._server.serve(), self._evolution.serve())
        finally:
            await broker.stop()
            await engine.dispose()

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = self._evolution.should_exit = True
        self._done.result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def gateway(postgres: EmbeddedPostgres, nats_server: NatsServer, engine: object) -> Iterator[ThreadedGateway]:
    # `engine` has migrated the schema.
    with ThreadedGateway(postgres.url, nats_server.url) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(gateway: ThreadedGateway) -> Any:
    return schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")


def clear_error_message(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every error answers JSON with a non-empty sentence in `detail`."""
    if response.status_code < 400:
        return None
    body = response.json()
    detail = body.get("detail") if isinstance(body, dict) else None
    assert isinstance(detail, str), f"{response.status_code} without a `detail` sentence: {body!r}"
    assert detail.strip(), f"{response.status_code} with an empty detail"
    return None


schema = schemathesis.pytest.from_fixture("api_schema").exclude(path_regex=STREAMS).exclude(path_regex=QUEUE)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api_never_fails_and_always_explains(case: Any) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {ADMIN}"},
        checks=[not_a_server_error, response_schema_conformance, clear_error_message],
        timeout=20,
    )
