"""The webhook path under concurrency: grouped lookups and records, one event per change, shedding."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from test_webhooks import WEBHOOK, headers_for, labeled_body, labeling_id, stream_count

from paid_contracts import Event
from paid_devstack import wait_until_async
from paid_devstack.postgres import EmbeddedPostgres
from paid_gateway import repo
from paid_gateway.app import create_app
from paid_gateway.config import GatewaySettings
from paid_gateway.delivery_log import DeliveryLog
from paid_gateway.main import MIGRATIONS
from paid_gateway.trust import TrustChecker
from paid_github_emulator import GitHubEmulator
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.messaging import publish_event

# Issue numbers of their own: test_webhooks' counter restarts in this module's copy of it.
_numbers = itertools.count(500_000)


def _labeled(github_fixture: Any) -> bytes:
    return labeled_body(github_fixture, "paid-build", number=next(_numbers))


@pytest.fixture
def secret(settings: GatewaySettings) -> str:
    return settings.webhook_secrets[0]


async def test_concurrent_deliveries_are_all_published_and_recorded_with_grouped_queries(
    settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    github_fixture: Any,
    secret: str,
) -> None:
    app = create_app(settings, publisher=lambda event: publish_event(broker, event), sessions=sessions)
    deliveries: DeliveryLog = app.state.deliveries
    bodies = [_labeled(github_fixture) for _ in range(30)]
    requests = [(body, headers_for(body, secret=secret)) for body in bodies]
    before = await stream_count(broker)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        answers = await asyncio.gather(
            *(client.post(WEBHOOK, content=body, headers=headers) for body, headers in requests)
        )

    assert [answer.status_code for answer in answers] == [202] * 30
    assert [answer.json()["event_id"] for answer in answers] == [labeling_id(body) for body in bodies]
    assert await stream_count(broker) == before + 30
    async with sessions() as session:
        for body, headers in requests:
            record = await repo.find_delivery(session, delivery_id=headers["X-GitHub-Delivery"])
            assert record is not None
            assert record.published_event_id == labeling_id(body)
    for batcher in (deliveries.lookups, deliveries.records):
        assert sum(batcher.recent_batch_sizes) == 30
        assert len(batcher.recent_batch_sizes) < 30, "concurrent deliveries should share queries"


async def test_one_delivery_arriving_many_times_at_once_is_published_once(
    client: httpx.AsyncClient,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    github_fixture: Any,
    secret: str,
) -> None:
    body = _labeled(github_fixture)
    headers = headers_for(body, secret=secret)
    before = await stream_count(broker)

    answers = await asyncio.gather(*(client.post(WEBHOOK, content=body, headers=headers) for _ in range(10)))

    assert {answer.status_code for answer in answers} <= {200, 202}
    assert {answer.json()["event_id"] for answer in answers} == {labeling_id(body)}
    assert await stream_count(broker) == before + 1
    async with sessions() as session:
        published = await repo.find_published_event_ids(
            await _driver(session), delivery_ids=[headers["X-GitHub-Delivery"]]
        )
    assert published == {headers["X-GitHub-Delivery"]: labeling_id(body)}


async def test_beyond_the_in_flight_limit_a_delivery_is_refused_at_once_with_retry_after(
    settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    github_fixture: Any,
    secret: str,
) -> None:
    gate = asyncio.Event()
    publishing: list[str] = []

    async def slow_publish(event: Event) -> Event:  # the real publish, held until the gate opens
        publishing.append(event.event_id)
        await gate.wait()
        return await publish_event(broker, event)

    limited = settings.model_copy(update={"webhook_max_in_flight": 2})
    app = create_app(limited, publisher=slow_publish, sessions=sessions)
    before = await stream_count(broker)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        post = _poster(client, github_fixture, secret)
        # Refused deliveries give their place back: three bad signatures do not use up the limit.
        for _ in range(3):
            refused = await client.post(WEBHOOK, content=b"{}", headers=headers_for(b"{}", secret="wrong"))
            assert refused.status_code == 401
        held = [asyncio.create_task(post()) for _ in range(2)]
        await wait_until_async(lambda: len(publishing) == 2, timeout=10, what="both deliveries publishing")

        shed_body = _labeled(github_fixture)
        shed = await asyncio.wait_for(
            client.post(WEBHOOK, content=shed_body, headers=headers_for(shed_body, secret=secret)), timeout=5
        )

        assert shed.status_code == 503
        assert int(shed.headers["Retry-After"]) > 0
        assert "overloaded" in shed.json()["detail"]
        assert len(publishing) == 2, "a refused delivery must not be published"
        gate.set()
        assert [(await task).status_code for task in held] == [202, 202]
        assert (await post()).status_code == 202  # below the limit again
    assert await stream_count(broker) == before + 3
    assert labeling_id(shed_body) not in publishing


def _poster(
    client: httpx.AsyncClient, github_fixture: Any, secret: str
) -> Callable[[], Awaitable[httpx.Response]]:
    async def post() -> httpx.Response:
        body = _labeled(github_fixture)
        return await client.post(WEBHOOK, content=body, headers=headers_for(body, secret=secret))

    return post


async def _driver(session: AsyncSession) -> repo.Driver:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: repo.Driver = raw.driver_connection
    return driver


async def test_deliveries_missing_the_trust_cache_together_ask_github_once(github: GitHubEmulator) -> None:
    token = "ghp_gateway_tests"  # the conftest's GitHub user, owner of Codertocat/Hello-World
    checker = TrustChecker(github.api_url, token, ttl=30)
    asked_before = github.rate_limit_usage(token).used

    decisions = await asyncio.gather(
        *(
            checker.decide(
                owner="Codertocat", name="Hello-World", login="Codertocat", allowlist=(), token=None
            )
            for _ in range(10)
        )
    )

    assert all(decision.trusted for decision in decisions)
    assert github.rate_limit_usage(token).used == asked_before + 1
    await checker.decide(owner="Codertocat", name="Hello-World", login="Codertocat", allowlist=(), token=None)
    assert github.rate_limit_usage(token).used == asked_before + 1, "cached"


async def test_with_postgresql_down_a_delivery_gets_503_and_after_it_returns_the_next_is_accepted(
    settings: GatewaySettings, broker: NatsBroker, github_fixture: Any, secret: str
) -> None:
    """The lookups' connection dies with the server; the next batch takes a fresh one."""
    with EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="paid-gateway-pg-down-"))) as postgres:
        engine = make_engine(postgres.url)
        try:
            await migrate(engine, schema="gateway", migrations_dir=MIGRATIONS)
            app = create_app(
                settings,
                publisher=lambda event: publish_event(broker, event),
                sessions=session_factory(engine),
            )
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gw"
            ) as client:
                post = _poster(client, github_fixture, secret)
                assert (await post()).status_code == 202
                before = await stream_count(broker)
                postgres.kill()

                refused = await post()

                assert refused.status_code == 503
                assert refused.json()["detail"] == "database unavailable"
                assert await stream_count(broker) == before, "nothing is published without the lookup"
                postgres.start()
                assert (await post()).status_code == 202
                assert await stream_count(broker) == before + 1
        finally:
            await engine.dispose()
            shutil.rmtree(postgres.data_dir, ignore_errors=True)
