"""Budget thresholds announced by the shared ledger: 80% (an alert) and 100% (the stop), each once per
scope and period, however many runs and workers cross it, and again after a failed publish."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_contracts import BudgetAlerted, BudgetExhausted, Event
from paid_devstack.postgres import EmbeddedPostgres
from paid_executor.proxy import Budget, Cap, MeteringProxy, SharedLedger, SpendPolicy
from paid_executor.proxy.budgets import thresholds_crossed
from paid_executor.proxy.server import Upstreams
from paid_executor.proxy.spend_alerts import SpendAlerts
from paid_runtime.database import make_engine

from .test_spend import CALL, SlowProvider, call_until_stopped


class Bus:
    """Stands in for JetStream: records what was published, or fails while `down`."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.down = False

    async def publish(self, event: Event) -> Event:
        if self.down:
            raise ConnectionError("NATS is away")
        self.events.append(event)
        return event


@pytest.fixture
async def provider() -> AsyncIterator[SlowProvider]:
    async with SlowProvider() as server:
        yield server


def test_a_settlement_crosses_each_threshold_it_reaches_once() -> None:
    cap = Cap(tokens=1000, usd=1.0)
    assert thresholds_crossed(cap, spent_tokens=700, spent_usd=0.1, added_tokens=100, added_usd=0.01) == []
    assert thresholds_crossed(cap, spent_tokens=800, spent_usd=0.1, added_tokens=100, added_usd=0.01) == [
        (80, "tokens")
    ]
    # One call past both lines announces both; the unit that got there first names it.
    assert thresholds_crossed(cap, spent_tokens=1500, spent_usd=0.2, added_tokens=900, added_usd=0.1) == [
        (80, "tokens"),
        (100, "tokens"),
    ]
    assert thresholds_crossed(cap, spent_tokens=100, spent_usd=0.85, added_tokens=10, added_usd=0.1) == [
        (80, "usd")
    ]
    # Already past: nothing new. No cap: nothing at all.
    assert thresholds_crossed(cap, spent_tokens=1200, spent_usd=0.1, added_tokens=100, added_usd=0.0) == []
    unlimited = Cap()
    assert (
        thresholds_crossed(unlimited, spent_tokens=10**9, spent_usd=9.0, added_tokens=10**9, added_usd=9)
        == []
    )


async def test_three_runs_on_two_workers_announce_the_alert_and_the_stop_once_each(
    provider: SlowProvider, postgres: EmbeddedPostgres, engine: AsyncEngine, tmp_path: Path
) -> None:
    """`engine`: the ledger's tables, migrated."""
    bus = Bus()
    url = f"http://127.0.0.1:{provider.port}"
    project = f"alice/alerts-{uuid.uuid4().hex[:8]}"
    cap = Cap(tokens=4 * CALL.total_tokens + 500)
    policy = SpendPolicy(project=project, day=cap, month=Cap(), global_month=Cap())
    proxies: list[MeteringProxy] = []
    try:
        for number in range(2):
            pool = make_engine(postgres.url)
            alerts = SpendAlerts(pool, bus.publish)
            shared = SharedLedger(pool, holder=f"w{number}", estimate=Cap(tokens=2000), alerts=alerts)
            await shared.start()
            proxy = MeteringProxy(Upstreams(anthropic_url=url), tmp_path / f"a{number}.sock", shared=shared)
            await proxy.start()
            proxies.append(proxy)
        runs = [proxies[n % 2].open_run(f"run-{n}", Budget(), policy) for n in range(3)]

        calling = (call_until_stopped(proxies[n % 2], token) for n, (token, _) in enumerate(runs))
        await asyncio.gather(*calling)
        for proxy in proxies:
            await proxy.settled()
    finally:
        for proxy in proxies:
            await proxy.stop()
            assert proxy.shared is not None
            await proxy.shared.engine.dispose()

    day = datetime.now(UTC).strftime("%Y-%m-%d")
    scope = f"project:{project}:day:{day}"
    assert [(type(event), event.event_id) for event in bus.events] == [
        (BudgetAlerted, f"budget:{scope}:80"),
        (BudgetExhausted, f"budget:{scope}:100"),
    ]
    alert, stop = bus.events
    cap_tokens = 4 * CALL.total_tokens + 500
    assert isinstance(alert, BudgetAlerted)
    assert isinstance(stop, BudgetExhausted)
    assert (alert.project, alert.scope_kind, alert.period) == (project, "project_day", day)
    assert alert.cap_tokens == cap_tokens
    assert alert.spent_tokens >= 0.8 * cap_tokens
    assert (stop.unit, stop.cap_tokens) == ("tokens", cap_tokens)
    assert stop.spent_tokens >= cap_tokens
    assert stop.run_id in {"run-0", "run-1", "run-2"}


async def test_an_announcement_that_could_not_be_published_is_relayed_once(engine: AsyncEngine) -> None:
    bus = Bus()
    alerts = SpendAlerts(engine, bus.publish, relay_after_seconds=0)
    ledger = SharedLedger(engine, holder="w", estimate=Cap(tokens=100), alerts=alerts)
    project = f"alice/relay-{uuid.uuid4().hex[:8]}"
    scopes = SpendPolicy(project=project, day=Cap(tokens=100), month=Cap(), global_month=Cap()).scopes(
        datetime.now(UTC)
    )
    held = await ledger.reserve(scopes, run_id="run-r")
    assert held.reservation is not None

    bus.down = True
    await ledger.settle(held.reservation, tokens=120, usd=0.0)  # past 80% and 100% while NATS is away
    assert bus.events == []
    bus.down = False
    assert await alerts.relay() == 2
    assert await alerts.relay() == 0  # marked published: not sent a second time

    assert [event.event_id for event in bus.events] == [
        f"budget:{scopes[0].key}:80",
        f"budget:{scopes[0].key}:100",
    ]
    assert isinstance(bus.events[1], BudgetExhausted)
    assert bus.events[1].spent_tokens == 120
