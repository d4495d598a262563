"""When JetStream cannot take the event the gateway answers 503 with Retry-After, so GitHub's delivery
shows the failure, and the refused event is not sent later behind the answer's back."""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_devstack.nats import NatsServer
from paid_gateway import repo
from paid_gateway.app import create_app
from paid_gateway.config import GatewaySettings
from paid_gateway.signatures import sign
from paid_runtime.messaging import ensure_streams, make_broker, publish_event


@pytest.fixture
async def doomed_nats(tmp_path: Path) -> AsyncIterator[tuple[NatsServer, NatsBroker]]:
    server = NatsServer(tmp_path / "nats", sync_always=False)
    server.start()
    broker = make_broker(server.url, "gateway-tests")
    await broker.connect()
    await ensure_streams(broker)
    yield server, broker
    await broker.stop()
    server.stop()


async def wait_connected(broker: NatsBroker, timeout: float = 15.0, *, connected: bool = True) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while broker.connection.is_connected != connected:
        assert asyncio.get_running_loop().time() < deadline, f"the broker's connected is not {connected}"
        await asyncio.sleep(0.05)


async def stored_messages(broker: NatsBroker) -> int:
    await broker.connection.flush()  # whatever the client still held has reached the server
    info = await broker.connection.jetstream().stream_info("PAID_GITHUB")
    return int(info.state.messages)


async def test_nats_down_answers_503_records_nothing_and_the_redelivery_succeeds(
    doomed_nats: tuple[NatsServer, NatsBroker],
    sessions: async_sessionmaker[AsyncSession],
    github_fixture: Any,
    settings: GatewaySettings,
) -> None:
    server, broker = doomed_nats
    settings = settings.model_copy(update={"webhook_secrets": ["s"], "publish_timeout_seconds": 0.5})
    publisher = functools.partial(publish_event, broker, timeout=0.5)
    app = create_app(settings, publisher=publisher, sessions=sessions)
    payload = github_fixture("issues", "labeled")
    payload["label"]["name"] = "paid-build"
    payload["issue"]["number"] = 9001  # a labeling no other test publishes
    body = json.dumps(payload).encode()
    delivery = str(uuid.uuid4())
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": sign("s", body),
    }
    server.kill()
    await wait_connected(broker, connected=False)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.post("/webhooks/github", content=body, headers=headers)
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        async with sessions() as session:
            assert await repo.find_delivery(session, delivery_id=delivery) is None

        server.start()
        await wait_connected(broker)
        assert await stored_messages(broker) == 0, "the refused event was sent after NATS came back"
        redelivered = await client.post("/webhooks/github", content=body, headers=headers)

    assert redelivered.status_code == 202
    assert await stored_messages(broker) == 1
    async with sessions() as session:
        assert await repo.find_delivery(session, delivery_id=delivery) is not None
