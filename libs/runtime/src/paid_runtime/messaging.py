"""NATS JetStream through FastStream: one broker per service, traced, publishing with Nats-Msg-Id."""

from __future__ import annotations

from faststream.nats import JStream, NatsBroker
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.js.api import StorageType
from nats.js.errors import BadRequestError
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


STREAMS: dict[str, JStream] = {spec.name: jstream(spec) for spec in ALL_STREAMS}


def make_broker(nats_url: str, service_name: str) -> NatsBroker:
    return NatsBroker(
        nats_url,
        middlewares=[
            NatsTelemetryMiddleware(),
            NatsPrometheusMiddleware(registry=REGISTRY, app_name=f"paid-{service_name}"),
            RedeliveryMiddleware,
        ],
        name=f"paid-{service_name}",
        connect_timeout=5,
        max_reconnect_attempts=-1,
    )


async def ensure_streams(broker: NatsBroker) -> None:
    """Creates (or updates) every stream so that publishers never publish into the void.

    Call after `broker.connect()` and before `broker.start()`, which binds consumers to the streams.
    """
    js = broker.connection.jetstream()
    for stream in STREAMS.values():
        try:
            await js.add_stream(config=stream.config)
        except BadRequestError:  # the stream exists with other options: bring it to ours
            await js.update_stream(config=stream.config)


class EventBusUnavailableError(ConnectionError):
    """NATS is not connected: nothing was sent, and nothing will be sent later on the caller's behalf."""


async def publish_event(broker: NatsBroker, event: Event, *, timeout: float = 5.0) -> Event:
    """Publishes to JetStream and waits for the server's ack; the event id is the Nats-Msg-Id.

    Refuses at once while the client is reconnecting: nats-py would otherwise buffer the message and
    send it after reconnecting, long after this call failed and its caller answered (the gateway a
    503, which promises GitHub that nothing was accepted) or retried.
    """
    if not broker.connection.is_connected:
        raise EventBusUnavailableError(f"not connected to NATS; {event.type} {event.event_id} not sent")
    if event.trace.traceparent is None:
        event = event.model_copy(update={"trace": current_trace_context()})
    await broker.publish(
        event,
        subject=event.subject,
        headers={"Nats-Msg-Id": event.event_id},
        stream=_stream_for(event.subject),
        timeout=timeout,
    )
    return event


def _stream_for(subject: str) -> str:
    for stream in STREAMS.values():
        for pattern in stream.subjects:
            if subject.startswith(pattern.removesuffix(">")):
                return stream.name
    raise LookupError(f"no stream captures subject {subject!r}")
