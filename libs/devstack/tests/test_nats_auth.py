"""The NATS users of `paid_contracts.nats_access` on a real nats-server: what each may do, and may not."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError
from nats.js.api import ConsumerConfig
from nats.js.errors import Error as JetStreamError

from paid_contracts import subjects
from paid_contracts.nats_access import user_for
from paid_devstack import NatsServer, wait_until_async
from paid_devstack.nats_credentials import NatsCredentials
from paid_runtime.messaging import STREAMS, make_broker, provision_streams
from paid_runtime.subscriptions import durable_subscriber

pytestmark = pytest.mark.integration

PLANNER_DURABLE = "planner-plan-requested"


@pytest.fixture(scope="module")
def credentials() -> NatsCredentials:
    return NatsCredentials.generate()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, credentials: NatsCredentials) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats"), sync_always=False, credentials=credentials) as server:
        yield server


@pytest.fixture(scope="module")
async def admin(server: NatsServer) -> AsyncIterator[Client]:
    await provision_streams(server.admin_url)
    connection = await nats.connect(server.admin_url)
    yield connection
    await connection.close()


class Violations:
    """What nats-server reported to one connection (permission violations arrive asynchronously)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def record(self, error: Exception) -> None:
        self.messages.append(str(error))


async def connect_as(
    server: NatsServer, credentials: NatsCredentials, service: str, violations: Violations
) -> Client:
    user = user_for(service)
    return await nats.connect(
        server.url,
        user=user,
        password=credentials.passwords[user],
        inbox_prefix=f"_INBOX.{user}",
        error_cb=violations.record,
        allow_reconnect=False,
    )


async def test_a_connection_without_credentials_is_refused(server: NatsServer, admin: Client) -> None:
    with pytest.raises(NatsError, match="Authorization Violation"):
        await nats.connect(server.url, allow_reconnect=False, max_reconnect_attempts=0)


async def test_a_wrong_password_is_refused(server: NatsServer, admin: Client) -> None:
    with pytest.raises(NatsError, match="Authorization Violation"):
        await nats.connect(
            server.url,
            user=user_for("executor"),
            password="guessed",
            allow_reconnect=False,
            max_reconnect_attempts=0,
        )


async def test_the_executor_cannot_publish_a_build_request(
    server: NatsServer, credentials: NatsCredentials, admin: Client
) -> None:
    before = (await admin.jetstream().stream_info("PAID_GITHUB")).state.messages
    violations = Violations()
    executor = await connect_as(server, credentials, "executor", violations)
    try:
        with pytest.raises((TimeoutError, NatsError)):
            await executor.jetstream().publish(subjects.GITHUB_BUILD_REQUESTED, b"{}", timeout=1.0)
        await executor.flush()
    finally:
        await executor.close()
    denied = f'permissions violation for publish to "{subjects.GITHUB_BUILD_REQUESTED}"'
    assert any(denied in message.lower() for message in violations.messages), violations.messages
    assert (await admin.jetstream().stream_info("PAID_GITHUB")).state.messages == before


async def test_the_executor_publishes_its_run_events(
    server: NatsServer, credentials: NatsCredentials, admin: Client
) -> None:
    executor = await connect_as(server, credentials, "executor", Violations())
    try:
        ack = await executor.jetstream().publish(subjects.RUN_STARTED, b"{}", timeout=5.0)
    finally:
        await executor.close()
    assert ack.stream == "PAID_RUN"


async def test_the_executor_cannot_read_the_planners_durable_consumer(
    server: NatsServer, credentials: NatsCredentials, admin: Client
) -> None:
    planner = await connect_as(server, credentials, "planner", Violations())
    try:
        await planner.jetstream().pull_subscribe(
            subjects.GITHUB_PLAN_REQUESTED, durable=PLANNER_DURABLE, stream="PAID_GITHUB"
        )
    finally:
        await planner.close()
    await admin.jetstream().publish(subjects.GITHUB_PLAN_REQUESTED, b"{}")
    violations = Violations()
    executor = await connect_as(server, credentials, "executor", violations)
    js = executor.jetstream()
    try:
        with pytest.raises((TimeoutError, NatsError, JetStreamError)):
            await js.consumer_info("PAID_GITHUB", PLANNER_DURABLE, timeout=1.0)
        with pytest.raises((TimeoutError, NatsError)):
            await executor.request(
                f"$JS.API.CONSUMER.MSG.NEXT.PAID_GITHUB.{PLANNER_DURABLE}", b"1", timeout=1.0
            )
        with pytest.raises((TimeoutError, NatsError, JetStreamError)):
            await js.pull_subscribe(
                subjects.GITHUB_PLAN_REQUESTED, durable=PLANNER_DURABLE, stream="PAID_GITHUB"
            )
    finally:
        await executor.close()
    assert any("permissions violation" in message.lower() for message in violations.messages)
    pending = await admin.jetstream().consumer_info("PAID_GITHUB", PLANNER_DURABLE)
    assert (pending.num_pending, pending.num_ack_pending) == (1, 0)  # untouched: still the planner's


async def test_the_executor_cannot_delete_or_purge_a_stream(
    server: NatsServer, credentials: NatsCredentials, admin: Client
) -> None:
    violations = Violations()
    executor = await connect_as(server, credentials, "executor", violations)
    js = executor.jetstream()
    try:
        for attempt in (js.delete_stream("PAID_RUN"), js.purge_stream("PAID_RUN")):
            with pytest.raises((TimeoutError, NatsError, JetStreamError)):
                await attempt
    finally:
        await executor.close()
    assert any(
        'publish to "$js.api.stream.delete.paid_run"' in message.lower() for message in violations.messages
    )
    assert (await admin.jetstream().stream_info("PAID_RUN")).config.name == "PAID_RUN"


async def test_a_service_cannot_read_another_services_replies(
    server: NatsServer, credentials: NatsCredentials, admin: Client
) -> None:
    violations = Violations()
    planner = await connect_as(server, credentials, "planner", violations)
    try:
        await planner.subscribe(f"_INBOX.{user_for('executor')}.>")
        await planner.flush()
        # The server's -ERR reaches the error callback on a task of its own, possibly after flush returns.
        await wait_until_async(
            lambda: any("permissions violation for subscription" in m.lower() for m in violations.messages),
            timeout=10,
            what="the server refusing the subscription",
        )
    finally:
        await planner.close()


async def test_a_service_broker_consumes_and_publishes_as_its_user(
    server: NatsServer, credentials: NatsCredentials, admin: Client
) -> None:
    """`make_broker` with the executor's login: its durable consumer and its publishes pass the server."""
    user = user_for("executor")
    broker = make_broker(server.url, "executor", user=user, password=credentials.passwords[user])
    received: list[dict[str, object]] = []

    @durable_subscriber(
        broker,
        service="executor",
        name="task-ready",
        subject=subjects.PLAN_TASK_READY,
        stream=STREAMS["PAID_PLAN"],
    )
    async def on_task_ready(payload: dict[str, object]) -> None:
        received.append(payload)

    await broker.start()
    try:
        await admin.jetstream().publish(subjects.PLAN_TASK_READY, b'{"task": 1}')
        await wait_until_async(lambda: bool(received), timeout=30, what="the executor's task-ready delivery")
        await wait_until_async(lambda: _acked(admin), timeout=30, what="the executor's ack")
        await broker.publish({"run": 1}, subject=subjects.RUN_FINISHED, stream="PAID_RUN", timeout=5.0)
    finally:
        await broker.stop()
    assert received == [{"task": 1}]


async def _acked(admin: Client) -> bool:
    consumer = await admin.jetstream().consumer_info("PAID_PLAN", "executor-task-ready")
    return (consumer.num_pending, consumer.num_ack_pending) == (0, 0)


async def test_the_executor_cannot_widen_its_own_consumer(
    server: NatsServer, credentials: NatsCredentials, admin: Client
) -> None:
    """Its durable reads build requests only: re-creating it over all of `paid.github.>` (which would
    show it plans, comments and reactions) is refused, in the filtered form and in the legacy one."""
    violations = Violations()
    executor = await connect_as(server, credentials, "executor", violations)
    js = executor.jetstream()
    durable = "executor-build-requested"
    try:
        wider = ConsumerConfig(name=durable, durable_name=durable, filter_subject="paid.github.>")
        with pytest.raises((TimeoutError, NatsError, JetStreamError)):
            await js.add_consumer("PAID_GITHUB", config=wider, timeout=1.0)
        legacy = ConsumerConfig(durable_name=durable, filter_subject="paid.github.>")
        with pytest.raises((TimeoutError, NatsError, JetStreamError)):
            await js.add_consumer("PAID_GITHUB", config=legacy, timeout=1.0)
        own = ConsumerConfig(
            name=durable, durable_name=durable, filter_subject=subjects.GITHUB_BUILD_REQUESTED
        )
        created = await js.add_consumer("PAID_GITHUB", config=own, timeout=5.0)
    finally:
        await executor.close()
    assert created.config.filter_subject == subjects.GITHUB_BUILD_REQUESTED
    assert sum("permissions violation" in message.lower() for message in violations.messages) >= 2


async def test_only_granted_services_reach_the_token_minter_and_none_can_pose_as_it(
    server: NatsServer, credentials: NatsCredentials, admin: Client
) -> None:
    """The gateway answers `paid.github_app.mint_token`; the executor may ask; evolution, never granted
    a token, may not ask, and the executor may not subscribe to the minter's subject to read requests."""
    gateway_violations, executor_violations, evolution_violations = Violations(), Violations(), Violations()
    gateway = await connect_as(server, credentials, "gateway", gateway_violations)
    executor = await connect_as(server, credentials, "executor", executor_violations)
    evolution = await connect_as(server, credentials, "evolution", evolution_violations)
    try:

        async def answer(message: Msg) -> None:
            await message.respond(b'{"token": "ghs_minted"}')

        await gateway.subscribe(subjects.GITHUB_APP_MINT, queue="gateway-token-minter", cb=answer)
        await gateway.flush()
        replies: list[bytes] = []

        async def executor_is_answered() -> bool:
            # Polled: a subscription can take a moment to reach the server's interest graph.
            try:
                replies.append((await executor.request(subjects.GITHUB_APP_MINT, b"{}", timeout=1)).data)
            except NatsError:
                return False
            return True

        await wait_until_async(executor_is_answered, timeout=10, what="the minter answering the executor")
        assert b"ghs_minted" in replies[-1]
        # The minter is answering now: evolution's request is refused by the server, not unanswered.
        with pytest.raises((NatsError, TimeoutError)):
            await evolution.request(subjects.GITHUB_APP_MINT, b"{}", timeout=1)
        await executor.subscribe(subjects.GITHUB_APP_MINT)
        await executor.flush()

        def reported(violations: Violations, kind: str) -> bool:  # the server's -ERR arrives on its own
            return any(f"permissions violation for {kind}" in m.lower() for m in violations.messages)

        await wait_until_async(
            lambda: reported(evolution_violations, "publish"), timeout=10, what="evolution's publish refused"
        )
        await wait_until_async(
            lambda: reported(executor_violations, "subscription"),
            timeout=10,
            what="the executor's subscription refused",
        )
    finally:
        for connection in (gateway, executor, evolution):
            await connection.close()
    assert gateway_violations.messages == []
