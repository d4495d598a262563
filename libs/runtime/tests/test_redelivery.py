"""Failing handlers on a real JetStream: retried with backoff, poison and exhausted messages parked."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator

import nats
import pytest
from faststream.nats import NatsBroker

from paid_contracts import IssueRef, RepoRef, RunStarted
from paid_devstack import wait_until_async
from paid_devstack.nats import NatsServer
from paid_runtime import redelivery
from paid_runtime.messaging import STREAMS, ensure_streams, make_broker
from paid_runtime.redelivery import redelivery_delay
from paid_runtime.subscriptions import durable_subscriber

pytestmark = pytest.mark.integration
RUN_STREAM = STREAMS["PAID_RUN"]


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats"), sync_always=False) as server:
        yield server


@pytest.fixture
async def broker(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_server.url, "redelivery-test")
    await broker.connect()
    await ensure_streams(broker)
    yield broker
    await broker.stop()


def started(subject_suffix: str) -> tuple[str, RunStarted]:
    issue = IssueRef(repo=RepoRef(owner="acme", name="calc"), number=1)
    event = RunStarted(
        producer="test", run_id="r1", workflow_id="w1", issue=issue, agent="demo", prompt_version="coding@1"
    )
    return f"paid.run.test-{subject_suffix}", event


async def dead_letters(nats_server: NatsServer, subject: str) -> list[nats.aio.msg.Msg]:
    connection = await nats.connect(nats_server.url)
    try:
        js = connection.jetstream()
        subscription = await js.subscribe(f"paid.dead.{subject}", ordered_consumer=True)
        found = []
        try:
            while True:
                found.append(await subscription.next_msg(timeout=0.5))
        except nats.errors.TimeoutError:
            return found
    finally:
        await connection.close()


def test_delay_doubles_from_half_a_second_and_is_capped() -> None:
    assert [redelivery_delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert redelivery_delay(50) == redelivery.MAX_DELAY_SECONDS


async def test_a_transient_failure_is_retried_until_the_handler_succeeds(broker: NatsBroker) -> None:
    subject, event = started(uuid.uuid4().hex)
    attempts: list[str] = []

    @durable_subscriber(broker, service="t", name=uuid.uuid4().hex, subject=subject, stream=RUN_STREAM)
    async def handle(received: RunStarted) -> None:
        attempts.append(received.run_id)
        if len(attempts) < 3:
            raise RuntimeError("Temporal is down")

    await broker.start()
    await broker.publish(event, subject=subject, stream="PAID_RUN")
    await wait_until_async(lambda: len(attempts) >= 3, timeout=20, what="the third delivery")
    assert attempts == ["r1", "r1", "r1"]


async def test_a_payload_that_cannot_validate_is_parked_once_as_a_dead_letter(
    broker: NatsBroker, nats_server: NatsServer
) -> None:
    subject = f"paid.run.test-{uuid.uuid4().hex}"
    calls: list[RunStarted] = []

    @durable_subscriber(broker, service="t", name=uuid.uuid4().hex, subject=subject, stream=RUN_STREAM)
    async def handle(received: RunStarted) -> None:
        calls.append(received)

    await broker.start()
    not_a_run = b'{"not": "a run"}'
    await broker.publish(not_a_run, subject=subject, stream="PAID_RUN", headers={"Nats-Msg-Id": "m1"})

    async def parked() -> bool:
        return len(await dead_letters(nats_server, subject)) == 1

    await wait_until_async(parked, timeout=20, what="the dead letter")
    [letter] = await dead_letters(nats_server, subject)
    assert json.loads(letter.data) == {"not": "a run"}
    assert letter.headers is not None
    assert "ValidationError" in letter.headers["Paid-Dead-Reason"]
    assert letter.headers["Nats-Msg-Id"] == "dead:m1"
    assert calls == []


async def test_a_message_failing_on_its_last_delivery_is_parked_not_dropped(
    broker: NatsBroker, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redelivery, "MAX_DELIVER", 3)
    subject, event = started(uuid.uuid4().hex)
    attempts: list[int] = []

    @durable_subscriber(broker, service="t", name=uuid.uuid4().hex, subject=subject, stream=RUN_STREAM)
    async def handle(received: RunStarted) -> None:
        attempts.append(1)
        raise RuntimeError("always broken")

    await broker.start()
    await broker.publish(event, subject=subject, stream="PAID_RUN")

    async def parked() -> bool:
        return len(await dead_letters(nats_server, subject)) == 1

    await wait_until_async(parked, timeout=20, what="the dead letter")
    [letter] = await dead_letters(nats_server, subject)
    assert RunStarted.model_validate_json(letter.data).run_id == "r1"
    assert letter.headers is not None
    assert letter.headers["Paid-Dead-Deliveries"] == "3"
    assert len(attempts) == 3
