"""How every service consumes JetStream: durable pull consumers, explicit acks, bounded redelivery."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, cast

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import DeliverPolicy

from paid_runtime.messaging import STREAMS, consumer_replicas, inbox_prefix
from paid_runtime.metrics import DURABLE_CONSUMERS, ConsumerRef
from paid_runtime.redelivery import MAX_DELIVER

ACK_WAIT_SECONDS = 30.0

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])


def durable_consumer(durable: str, subject: str, *, replicas: int = 1) -> ConsumerConfig:
    # `name` too: nats-py then creates it on `$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>`, the
    # form whose subject shows the filter, the only one a service's NATS user may use.
    return ConsumerConfig(
        name=durable,
        durable_name=durable,
        filter_subject=subject,
        ack_policy=JsAckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        max_deliver=MAX_DELIVER,
        ack_wait=ACK_WAIT_SECONDS,
        num_replicas=replicas,
    )


def stream_of(subject: str) -> JStream:
    """The stream that captures `subject` (each stream owns one `prefix.>` wildcard)."""
    for stream in STREAMS.values():
        if any(_captures(pattern, subject) for pattern in stream.config.subjects or ()):
            return stream
    raise ValueError(f"no stream captures subject {subject!r}")


def _captures(pattern: str, subject: str) -> bool:
    wanted, parts = pattern.split("."), subject.split(".")
    for index, part in enumerate(wanted):
        if part == ">":
            return len(parts) > index
        if index >= len(parts) or part not in ("*", parts[index]):
            return False
    return len(parts) == len(wanted)


class Subscribe(Protocol):
    def __call__(self, name: str, subject: str, *, max_workers: int = 1) -> Callable[[Handler], Handler]: ...


def durable_subscribers(broker: NatsBroker, service: str) -> Subscribe:
    """`durable_subscriber` bound to one service, the stream found from the subject."""

    def subscribe(name: str, subject: str, *, max_workers: int = 1) -> Callable[[Handler], Handler]:
        stream = stream_of(subject)
        return durable_subscriber(
            broker, service=service, name=name, subject=subject, stream=stream, max_workers=max_workers
        )

    return subscribe


def durable_subscriber(
    broker: NatsBroker, *, service: str, name: str, subject: str, stream: JStream, max_workers: int = 1
) -> Callable[[Handler], Handler]:
    """A pull consumer whose durable is shared by the service's replicas, so each message goes to one.

    The message is acked after the handler returns; when it raises, `RedeliveryMiddleware` (installed by
    `make_broker`) retries it with backoff or parks it as a dead letter.
    """
    durable = f"{service}-{name}"
    DURABLE_CONSUMERS.add(ConsumerRef(stream.name, durable))
    decorator = broker.subscriber(
        subject,
        stream=stream,
        durable=durable,
        config=durable_consumer(durable, subject, replicas=consumer_replicas(broker)),
        pull_sub=PullSub(batch_size=16, timeout=2.0),
        inbox_prefix=inbox_prefix(broker),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        max_workers=max_workers,
    )
    return cast(Callable[[Handler], Handler], decorator)
