"""The webhook endpoint against a real nats-server (JetStream) and a real PostgreSQL."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from faststream.nats import NatsBroker
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import BuildRequested, PlanRequested, subjects
from paid_contracts.identity import labeled_event_id
from paid_gateway import repo
from paid_gateway.config import GatewaySettings
from paid_gateway.signatures import sign

WEBHOOK = "/webhooks/github"


def headers_for(
    body: bytes, *, secret: str, event: str = "issues", delivery: str | None = None
) -> dict[str, str]:
    """The headers GitHub sends with a delivery, signed as GitHub signs it."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/0000000",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "1",
        "X-Hub-Signature-256": sign(secret, body),
    }


_numbers = itertools.count(1000)


def labeled_body(
    github_fixture: Any, label: str, *, number: int | None = None, sender: str | None = None
) -> bytes:
    """The fixture's labeling, moved to an issue number no other test labels (so each is a new change)."""
    payload = github_fixture("issues", "labeled")
    payload["label"]["name"] = label
    payload["issue"]["number"] = number or next(_numbers)
    if sender is not None:
        payload["sender"]["login"] = sender
    return json.dumps(payload).encode()


def labeling_id(body: bytes) -> str:
    payload = json.loads(body)
    return labeled_event_id(
        "Codertocat",
        "Hello-World",
        payload["issue"]["number"],
        payload["label"]["name"],
        payload["issue"]["updated_at"],
    )


async def stream_count(broker: NatsBroker) -> int:
    info = await broker.connection.jetstream().stream_info("PAID_GITHUB")
    return int(info.state.messages)


async def last_message(broker: NatsBroker, subject: str) -> tuple[dict[str, str], bytes]:
    message = await broker.connection.jetstream().get_last_msg("PAID_GITHUB", subject)
    return dict(message.headers or {}), message.data or b""


@pytest.fixture
def secret(settings: GatewaySettings) -> str:
    return settings.webhook_secrets[0]


async def test_build_label_publishes_build_requested_with_the_labelings_identity_as_msg_id(
    client: httpx.AsyncClient,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    github_fixture: Any,
    secret: str,
) -> None:
    body = labeled_body(github_fixture, "paid-build")
    delivery = str(uuid.uuid4())
    before = await stream_count(broker)

    response = await client.post(
        WEBHOOK, content=body, headers=headers_for(body, secret=secret, delivery=delivery)
    )

    assert response.status_code == 202
    event_id = labeling_id(body)
    assert response.json() == {"accepted": True, "event_id": event_id}
    assert await stream_count(broker) == before + 1
    headers, data = await last_message(broker, subjects.GITHUB_BUILD_REQUESTED)
    assert headers["Nats-Msg-Id"] == event_id
    event = BuildRequested.model_validate_json(data)
    assert (event.event_id, event.source_id, event.actor) == (event_id, delivery, "Codertocat")
    assert event.issue.key == f"Codertocat/Hello-World#{json.loads(body)['issue']['number']}"
    async with sessions() as session:
        record = await repo.find_delivery(session, delivery_id=delivery)
    assert record is not None
    assert (record.event, record.action, record.repo) == ("issues", "labeled", "Codertocat/Hello-World")
    assert record.published_event_id == event_id


async def test_the_request_span_starts_the_trace_the_event_carries(
    client: httpx.AsyncClient,
    broker: NatsBroker,
    spans: InMemorySpanExporter,
    github_fixture: Any,
    secret: str,
) -> None:
    body = labeled_body(github_fixture, "paid-plan")
    spans.clear()

    response = await client.post(WEBHOOK, content=body, headers=headers_for(body, secret=secret))

    assert response.status_code == 202
    _, data = await last_message(broker, subjects.GITHUB_PLAN_REQUESTED)
    event = PlanRequested.model_validate_json(data)
    assert event.trace.traceparent is not None
    trace_id = event.trace.traceparent.split("-")[1]
    server_spans = [s for s in spans.get_finished_spans() if s.name == "POST /webhooks/github"]
    assert server_spans
    assert server_spans[-1].parent is None
    assert format(server_spans[-1].context.trace_id, "032x") == trace_id


async def test_a_redelivered_delivery_is_published_once(
    client: httpx.AsyncClient, broker: NatsBroker, github_fixture: Any, secret: str
) -> None:
    body = labeled_body(github_fixture, "paid-build")
    headers = headers_for(body, secret=secret)
    before = await stream_count(broker)

    first = await client.post(WEBHOOK, content=body, headers=headers)
    second = await client.post(WEBHOOK, content=body, headers=headers)

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.json() == {"duplicate": True, "event_id": labeling_id(body)}
    assert await stream_count(broker) == before + 1


async def test_one_labeling_delivered_twice_under_new_delivery_ids_is_published_once(
    client: httpx.AsyncClient, broker: NatsBroker, github_fixture: Any, secret: str
) -> None:
    """As when a hook and an org hook both fire, or the poller already published the labeling."""
    body = labeled_body(github_fixture, "paid-build")
    before = await stream_count(broker)

    answers = [
        await client.post(WEBHOOK, content=body, headers=headers_for(body, secret=secret)) for _ in range(2)
    ]

    assert [answer.json()["event_id"] for answer in answers] == [labeling_id(body)] * 2
    assert await stream_count(broker) == before + 1


async def test_a_crash_between_publishing_and_recording_loses_nothing_and_duplicates_nothing(
    client: httpx.AsyncClient,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    github_fixture: Any,
    secret: str,
) -> None:
    """The previous attempt published and died before writing its record; GitHub redelivers."""
    body = labeled_body(github_fixture, "paid-build")
    headers = headers_for(body, secret=secret)
    delivery = headers["X-GitHub-Delivery"]
    first = await client.post(WEBHOOK, content=body, headers=headers)
    assert first.status_code == 202
    async with sessions() as session:
        await session.delete(await repo.find_delivery(session, delivery_id=delivery))
        await session.commit()
    before = await stream_count(broker)

    redelivered = await client.post(WEBHOOK, content=body, headers=headers)

    assert redelivered.status_code == 202
    assert await stream_count(broker) == before  # JetStream dropped it by Nats-Msg-Id
    async with sessions() as session:
        assert await repo.find_delivery(session, delivery_id=delivery) is not None


async def test_a_delivery_recorded_beyond_the_jetstream_window_is_not_republished(
    client: httpx.AsyncClient,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    github_fixture: Any,
    secret: str,
) -> None:
    body = labeled_body(github_fixture, "paid-build")
    headers = headers_for(body, secret=secret)
    delivery = headers["X-GitHub-Delivery"]
    async with sessions() as session:
        await repo.record_delivery(
            session,
            delivery_id=delivery,
            event="issues",
            action="labeled",
            repo=None,
            published_event_id=delivery,
        )
    before = await stream_count(broker)

    response = await client.post(WEBHOOK, content=body, headers=headers)

    assert response.status_code == 200
    assert response.json()["duplicate"] is True
    assert await stream_count(broker) == before


async def test_both_the_old_and_the_new_secret_are_accepted(
    client: httpx.AsyncClient, settings: GatewaySettings, github_fixture: Any
) -> None:
    body = labeled_body(github_fixture, "paid-build")
    for secret in settings.webhook_secrets:
        response = await client.post(WEBHOOK, content=body, headers=headers_for(body, secret=secret))
        assert response.status_code == 202, secret


@pytest.mark.parametrize("signature", [None, "", "sha256=00", "sha256=" + "0" * 64, "wrong"])
async def test_a_missing_or_wrong_signature_is_refused_and_nothing_published(
    client: httpx.AsyncClient, broker: NatsBroker, github_fixture: Any, secret: str, signature: str | None
) -> None:
    body = labeled_body(github_fixture, "paid-build")
    headers = headers_for(body, secret=secret)
    del headers["X-Hub-Signature-256"]
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    before = await stream_count(broker)

    response = await client.post(WEBHOOK, content=body, headers=headers)

    assert response.status_code == 401
    assert await stream_count(broker) == before


async def test_a_body_signed_with_an_unknown_secret_or_altered_is_refused(
    client: httpx.AsyncClient, broker: NatsBroker, github_fixture: Any, secret: str
) -> None:
    body = labeled_body(github_fixture, "paid-build")
    before = await stream_count(broker)
    foreign = await client.post(WEBHOOK, content=body, headers=headers_for(body, secret="someone else's"))
    altered = await client.post(WEBHOOK, content=body + b" ", headers=headers_for(body, secret=secret))
    assert (foreign.status_code, altered.status_code) == (401, 401)
    assert await stream_count(broker) == before


async def test_ping_answers_pong(client: httpx.AsyncClient, github_fixture: Any, secret: str) -> None:
    body = json.dumps(github_fixture("ping")).encode()
    response = await client.post(
        WEBHOOK, content=body, headers=headers_for(body, secret=secret, event="ping")
    )
    assert response.status_code == 200
    assert response.json() == {"pong": True}


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ("issues", "labeled"),
        ("issues", "unlabeled"),
        ("issues", "opened"),
        ("push", None),
        ("label", "created"),
    ],
)
async def test_events_that_do_not_concern_paid_are_acknowledged_and_ignored(
    client: httpx.AsyncClient,
    broker: NatsBroker,
    github_fixture: Any,
    secret: str,
    event: str,
    action: str | None,
) -> None:
    body = json.dumps(github_fixture(event, action)).encode()  # the labeled fixture's label is "bug"
    before = await stream_count(broker)

    response = await client.post(WEBHOOK, content=body, headers=headers_for(body, secret=secret, event=event))

    assert response.status_code == 202
    assert response.json()["accepted"] is False
    assert response.json()["reason"]
    assert await stream_count(broker) == before


@pytest.mark.parametrize("missing", ["X-GitHub-Event", "X-GitHub-Delivery"])
async def test_missing_github_headers_are_a_bad_request(
    client: httpx.AsyncClient, github_fixture: Any, secret: str, missing: str
) -> None:
    body = labeled_body(github_fixture, "paid-build")
    headers = headers_for(body, secret=secret)
    del headers[missing]
    response = await client.post(WEBHOOK, content=body, headers=headers)
    assert response.status_code == 400


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b""])
async def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    client: httpx.AsyncClient, secret: str, body: bytes
) -> None:
    response = await client.post(WEBHOOK, content=body, headers=headers_for(body, secret=secret))
    assert response.status_code == 400


async def test_a_declared_content_length_beyond_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient, settings: GatewaySettings, secret: str
) -> None:
    body = b"{}"
    headers = headers_for(body, secret=secret)

    async def never_sent() -> AsyncIterator[bytes]:
        raise AssertionError("the body should not be read")
        yield b""  # pragma: no cover

    headers["Content-Length"] = str(settings.max_body_bytes + 1)
    response = await client.post(WEBHOOK, content=never_sent(), headers=headers)
    assert response.status_code == 413


async def test_a_streamed_body_beyond_the_limit_is_refused(
    client: httpx.AsyncClient, settings: GatewaySettings, secret: str
) -> None:
    chunk = b" " * 4096
    chunks_sent = 0

    async def endless_body() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        while True:
            chunks_sent += 1
            yield chunk

    headers = headers_for(b"", secret=secret)  # chunked: no Content-Length
    response = await client.post(WEBHOOK, content=endless_body(), headers=headers)
    assert response.status_code == 413
    assert chunks_sent <= settings.max_body_bytes // len(chunk) + 2


async def test_a_body_at_the_limit_is_read(
    client: httpx.AsyncClient, settings: GatewaySettings, github_fixture: Any, secret: str
) -> None:
    payload = json.dumps(github_fixture("ping")).encode()
    body = payload + b" " * (settings.max_body_bytes - len(payload))
    response = await client.post(
        WEBHOOK, content=body, headers=headers_for(body, secret=secret, event="ping")
    )
    assert response.status_code == 200
