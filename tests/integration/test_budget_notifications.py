"""A daily cap's 80% alert and its stop, end to end: three runs on two executor workers (two metering
proxies, each with its own pool, over one PostgreSQL ledger) spend against a project's $ cap; the
ledger announces each threshold on NATS; the notifier delivers each once to a Slack-format receiver, a
signed-webhook receiver and a real SMTP server.

The short forms are in the default run: services/executor/tests/test_spend_alerts.py (the ledger's
announcements) and services/notifier/tests/test_delivery.py (the deliveries)."""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from faststream.nats import NatsBroker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paid_contracts.notifications import ChannelSpec
from paid_devstack.nats import NatsServer
from paid_devstack.notification_receivers import HttpReceiver, SmtpReceiver
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.test_servers import scratch_postgres
from paid_devstack.waiting import wait_until_async
from paid_executor.main import MIGRATIONS as EXECUTOR_MIGRATIONS
from paid_executor.proxy import Budget, Cap, MeteringProxy, SharedLedger, SpendPolicy
from paid_executor.proxy.server import Upstreams
from paid_executor.proxy.spend_alerts import SpendAlerts
from paid_llm import Usage, cost_usd
from paid_notifier import subscribers
from paid_notifier.channels import Senders, SmtpRelay
from paid_notifier.delivery import Dispatcher, RetryPolicy
from paid_notifier.main import MIGRATIONS as NOTIFIER_MIGRATIONS
from paid_notifier.store import Store
from paid_runtime.database import make_engine, migrate
from paid_runtime.messaging import ensure_streams, make_broker, publish_event
from paid_threaded_server import ThreadedServer

pytestmark = [pytest.mark.integration, pytest.mark.heavy]
MODEL = "claude-sonnet-4-5-20250929"
CALL = Usage(input_tokens=20_000, output_tokens=2_000)
SECRET = "whsec-integration-0123456789"


class Provider(ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def build_app(self) -> Starlette:
        usage = {"input_tokens": CALL.input_tokens, "output_tokens": CALL.output_tokens}
        answer = {"type": "message", "model": MODEL, "content": [], "usage": usage}

        async def handle(request: Request) -> Response:
            self.calls += 1
            return Response(json.dumps(answer), media_type="application/json")

        return Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])])


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    with scratch_postgres("budget-notifications") as server:
        yield server


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(tmp_path_factory.mktemp("nats"), sync_always=False) as server:
        yield server


async def connected(nats: NatsServer, name: str) -> NatsBroker:
    broker = make_broker(nats.url, name)
    await broker.connect()
    await ensure_streams(broker)
    return broker


async def call_until_stopped(proxy: MeteringProxy, token: str) -> None:
    async with httpx.AsyncClient(base_url=proxy.url, timeout=60) as client:
        while (
            await client.post("/v1/messages", headers={"x-api-key": token}, json={"model": MODEL})
        ).is_success:
            pass


async def test_the_alert_and_the_stop_of_a_daily_cap_reach_each_channel_once(
    postgres: EmbeddedPostgres, nats: NatsServer, tmp_path: Path
) -> None:
    engine = make_engine(postgres.url)
    await migrate(engine, schema="executor", migrations_dir=EXECUTOR_MIGRATIONS)
    await migrate(engine, schema="notifier", migrations_dir=NOTIFIER_MIGRATIONS)
    project = f"alice/notify-{uuid.uuid4().hex[:6]}"
    price = cost_usd(CALL, model=MODEL, provider="anthropic", at=datetime.now(UTC))
    cap = round(8.5 * price, 6)  # the acceptance's $1 cap, scaled to a handful of calls
    policy = SpendPolicy(project=project, day=Cap(usd=cap), month=Cap(), global_month=Cap())

    with SmtpReceiver() as smtp:
        async with HttpReceiver() as slack, HttpReceiver(secret=SECRET) as hook, Provider() as provider:
            notifier_broker = make_broker(nats.url, "notifier")
            async with httpx.AsyncClient(timeout=10) as http:
                relay = SmtpRelay(host="127.0.0.1", port=smtp.port, sender="paid@example.com")
                dispatcher = Dispatcher(Store(engine), Senders(http, relay), RetryPolicy(first_seconds=0.05))
                await dispatcher.store.save_channels(
                    [
                        ChannelSpec(name="slack", kind="slack", target=slack.url, project=project),
                        ChannelSpec(name="hook", kind="webhook", target=hook.url, secret=SECRET),
                        ChannelSpec(name="mail", kind="email", target="owner@example.com", project=project),
                    ]
                )
                subscribers.register(notifier_broker, dispatcher)
                await notifier_broker.connect()
                await ensure_streams(notifier_broker)
                await notifier_broker.start()
                workers = [await connected(nats, f"executor-{n}") for n in range(2)]
                proxies = []
                for number, broker in enumerate(workers):
                    pool = make_engine(postgres.url)
                    # Relays at once: a second publish of the same crossing must change nothing.
                    alerts = SpendAlerts(
                        pool, functools.partial(publish_event, broker), relay_after_seconds=0
                    )
                    shared = SharedLedger(
                        pool,
                        holder=f"w{number}",
                        estimate=Cap(usd=price * 1.5),
                        lease_seconds=0.6,
                        alerts=alerts,
                    )
                    await shared.start()
                    proxy = MeteringProxy(
                        Upstreams(anthropic_url=f"http://127.0.0.1:{provider.port}"),
                        tmp_path / f"w{number}.sock",
                        shared=shared,
                    )
                    await proxy.start()
                    proxies.append(proxy)
                try:
                    runs = [proxies[n % 2].open_run(f"run-{n}", Budget(), policy) for n in range(3)]
                    await asyncio.gather(
                        *(call_until_stopped(proxies[n % 2], token) for n, (token, _) in enumerate(runs))
                    )
                    for proxy in proxies:
                        await proxy.settled()

                    def all_arrived() -> bool:
                        return (
                            len(slack.requests) >= 2 and len(hook.accepted) >= 2 and len(smtp.messages) >= 2
                        )

                    await wait_until_async(all_arrived, timeout=60, what="the alert and the stop everywhere")
                    await asyncio.sleep(0)  # nothing more is sent: the checks below count what arrived
                    # Both workers' relays run every 0.2 s; give them a few rounds to publish again.
                    rounds = [
                        asyncio.create_task(p.shared.alerts.relay())
                        for p in proxies
                        if p.shared and p.shared.alerts
                    ]
                    await asyncio.gather(*rounds)
                finally:
                    for proxy in proxies:
                        await proxy.stop()
                        assert proxy.shared is not None
                        await proxy.shared.engine.dispose()
                    for broker in workers:
                        await broker.stop()
                    await notifier_broker.stop()
                assert await dispatcher.deliver_due() == 0  # nothing was left to deliver

            scope = f"project:{project}:day:{datetime.now(UTC):%Y-%m-%d}"
            expected = [f"budget:{scope}:80", f"budget:{scope}:100"]
            assert [body["event_id"] for body in hook.bodies()] == expected
            assert len(slack.bodies()) == 2
            assert "80% of the project day budget" in slack.bodies()[0]["text"]
            assert "is used up; runs stop" in slack.bodies()[1]["text"]
            assert len(smtp.messages) == 2
            spent = provider.calls * price
            assert cap <= spent <= cap + price  # the cap held within one call
    await engine.dispose()
