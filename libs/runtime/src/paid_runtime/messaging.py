"""NATS JetStream through FastStream: one broker per service, traced, publishing with Nats-Msg-Id."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterable
from typing import Any
from weakref import WeakKeyDictionary

import nats
from faststream.nats import JStream, NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from faststream.security import SASLPlaintext
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import StorageType
from nats.js.errors import BadRequestError, NoStreamResponseError, NotFoundError, ServiceUnavailableError
from prometheus_client import REGISTRY

from paid_contracts import Event
from paid_contracts.subjects import ALL_STREAMS, StreamSpec
from paid_runtime.redelivery import RedeliveryMiddleware
from paid_runtime.telemetry import current_trace_context

DUPLICATE_WINDOW_SECONDS = 2 * 60 * 60


def jstream(spec: StreamSpec) -> JStream:
    """File-backed streams with a two-hour duplicate window for Nats-Msg-Id de-duplication.

    `declare=False`: FastStream would declare a stream with only its subscribers' subjects; every
    service instead calls `ensure_streams`, which declares the whole domain's subjects.
    """
    stream = JStream(
        name=spec.name,
        subjects=list(spec.subjects),
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        declare=False,
    )
    stream.config.subjects = list(spec.subjects)
    return stream


_INBOX_PREFIXES: WeakKeyDictionary[NatsBroker, str] = WeakKeyDictionary()
STREAMS: dict[str, JStream] = {spec.name: jstream(spec) for spec in ALL_STREAMS}


_REPLICAS: WeakKeyDictionary[NatsBroker, int] = WeakKeyDictionary()


def seed_urls(nats_url: str) -> list[str]:
    """`nats://a:4222,nats://b:4222` -> both: a cluster's seeds, so that a client that loses its node
    reconnects to another (nats-py takes one URL per list item, not a comma-separated string)."""
    urls = [url.strip() for url in nats_url.split(",") if url.strip()]
    if not urls:
        raise ValueError("no NATS URL given")
    return urls


def make_broker(
    nats_url: str, service_name: str, *, user: str | None = None, password: str = "", replicas: int = 1
) -> NatsBroker:
    """With `user`, the broker logs in and keeps its reply inboxes under `_INBOX.<user>.`, the only
    inboxes that user may subscribe to (see `paid_contracts.nats_access`). `nats_url` may list a
    cluster's seeds, comma-separated; `replicas` is how many copies of its durable consumers' state
    the cluster keeps (`consumer_replicas`)."""
    login: dict[str, Any] = {}
    if user is not None:
        login = {
            "security": SASLPlaintext(username=user, password=password),
            "inbox_prefix": f"_INBOX.{user}",
        }
    broker = NatsBroker(
        seed_urls(nats_url),
        **login,
        middlewares=[
            NatsTelemetryMiddleware(),
            NatsPrometheusMiddleware(registry=REGISTRY, app_name=f"paid-{service_name}"),
            RedeliveryMiddleware,
        ],
        name=f"paid-{service_name}",
        connect_timeout=5,
        max_reconnect_attempts=-1,
    )
    _INBOX_PREFIXES[broker] = login.get("inbox_prefix", "_INBOX")
    _REPLICAS[broker] = replicas
    return broker


def consumer_replicas(broker: NatsBroker) -> int:
    return _REPLICAS.get(broker, 1)


def inbox_prefix(broker: NatsBroker) -> bytes:
    """Where a pull consumer of `broker` receives its messages: FastStream takes it per subscriber."""
    return f"{_INBOX_PREFIXES.get(broker, '_INBOX')}.".encode()


async def ensure_streams(broker: NatsBroker, *, replicas: int = 1) -> None:
    """Creates (or updates) every stream so that publishers never publish into the void.

    Needs the provisioning user (`paid-admin`) where NATS authenticates: services may not create
    streams. Call after `broker.connect()` and before any service starts.
    """
    await _declare_streams(broker.connection.jetstream(), replicas)


async def provision_streams(admin_url: str, *, replicas: int = 1, timeout: float = 60) -> None:
    """`ensure_streams` over a connection of its own: what `paid up`, the dev stack and compose's
    `provision` job run as the provisioning user before the services start. `admin_url` may list a
    cluster's seeds; each stream is kept on `replicas` of its nodes (at most 5, JetStream's limit).
    A cluster that has just formed may take longer than one request to place a replicated stream, or
    answer that JetStream is not ready yet: the declarations (idempotent) are tried again until
    `timeout`."""
    connection = await nats.connect(seed_urls(admin_url), connect_timeout=5)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                await _declare_streams(connection.jetstream(), replicas)
                return
            except (NatsTimeoutError, ServiceUnavailableError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await connection.close()


async def _declare_streams(js: JetStreamContext, replicas: int) -> None:
    if not 1 <= replicas <= 5:
        raise ValueError(f"a JetStream stream has 1 to 5 replicas, not {replicas}")
    for stream in STREAMS.values():
        config = dataclasses.replace(stream.config, num_replicas=replicas)
        try:
            await js.add_stream(config=config)
        except BadRequestError:  # the stream exists with other options: bring it to ours
            await js.update_stream(config=config)


class StreamsMissingError(LookupError):
    """A stream the service needs has not been provisioned (yet)."""


async def require_streams(broker: NatsBroker, names: Iterable[str]) -> None:
    """Raises unless every stream in `names` exists: services wait for provisioning, never create."""
    js = broker.connection.jetstream()
    for name in names:
        try:
            await js.stream_info(name)
        except NotFoundError as error:
            raise StreamsMissingError(f"stream {name} is not provisioned") from error


ELECTION_RETRY_FIRST_PAUSE = 0.1
ELECTION_RETRY_MAX_PAUSE = 1.0
PUBLISH_ATTEMPT_TIMEOUT = 2.0


class EventBusUnavailableError(ConnectionError):
    """NATS is not connected: nothing was sent, and nothing will be sent later on the caller's behalf."""


async def publish_event(broker: NatsBroker, event: Event, *, timeout: float = 5.0) -> Event:
    """Publishes to JetStream and waits for the server's ack; the event id is the Nats-Msg-Id.

    Refuses at once while the client is reconnecting: nats-py would otherwise buffer the message and
    send it after reconnecting, long after this call failed and its caller answered (the gateway a
    503, which promises GitHub that nothing was accepted) or retried.

    In a cluster, a stream whose leader's node was just lost answers no one until the survivors elect
    the next leader, and a request written to a node that died with it is never answered at all: each
    attempt waits at most `PUBLISH_ATTEMPT_TIMEOUT`, and the publish is tried again (after the client
    reconnected, if it had to), with the same Nats-Msg-Id so the stream stores it once, until `timeout`
    has passed.
    """
    if event.trace.traceparent is None:
        event = event.model_copy(update={"trace": current_trace_context()})
    if not broker.connection.is_connected:
        raise EventBusUnavailableError(f"not connected to NATS; {event.type} {event.event_id} not sent")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pause = ELECTION_RETRY_FIRST_PAUSE
    while True:
        remaining = deadline - loop.time()
        try:
            if not broker.connection.is_connected:
                raise EventBusUnavailableError(
                    f"lost NATS while publishing {event.type} {event.event_id}; it may have been stored"
                )
            await broker.publish(
                event,
                subject=event.subject,
                headers={"Nats-Msg-Id": event.event_id},
                stream=_stream_for(event.subject),
                timeout=max(min(remaining, PUBLISH_ATTEMPT_TIMEOUT), ELECTION_RETRY_FIRST_PAUSE),
            )
        except (NoStreamResponseError, NatsTimeoutError, EventBusUnavailableError):
            if loop.time() + pause >= deadline:
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, ELECTION_RETRY_MAX_PAUSE)
        else:
            return event


def _stream_for(subject: str) -> str:
    for stream in STREAMS.values():
        for pattern in stream.subjects:
            if subject.startswith(pattern.removesuffix(">")):
                return stream.name
    raise LookupError(f"no stream captures subject {subject!r}")
