"""Budgets shared across runs and workers: two metering proxies, each with its own connection pool
(two workers), in front of one provider and one PostgreSQL ledger, and runs calling at once until a
project's daily cap stops them. A worker that dies holding a reservation stops counting when its
lease runs out."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paid_devstack.postgres import EmbeddedPostgres
from paid_executor.proxy import Budget, Cap, MeteringProxy, SharedLedger, SpendPolicy
from paid_executor.proxy.budgets import Scope, ScopeState, Verdict, decide
from paid_executor.proxy.server import Upstreams
from paid_llm import Usage, cost_usd
from paid_runtime.database import make_engine
from paid_threaded_server import ThreadedServer

MODEL = "claude-sonnet-4-5-20250929"
CALL = Usage(input_tokens=1000, output_tokens=100)
ANSWER = json.dumps(
    {"type": "message", "model": MODEL, "content": [], "usage": {"input_tokens": 1000, "output_tokens": 100}}
).encode()


class SlowProvider(ThreadedServer):
    """Answers every call with CALL's usage, after a pause that keeps several calls in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def build_app(self) -> Starlette:
        async def handle(request: Request) -> Response:
            self.calls += 1
            await asyncio.sleep(0.02)  # the provider's latency, not a wait of the test's
            return Response(ANSWER, media_type="application/json")

        return Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])])


def policy(project: str, day: Cap) -> SpendPolicy:
    return SpendPolicy(project=project, day=day, month=Cap(), global_month=Cap())


@pytest.fixture
async def provider() -> AsyncIterator[SlowProvider]:
    async with SlowProvider() as server:
        yield server


@pytest.fixture
async def workers(
    provider: SlowProvider, postgres: EmbeddedPostgres, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[list[MeteringProxy]]:
    """Two proxies as two workers have them: each its own pool, holder and lease renewals."""
    url = f"http://127.0.0.1:{provider.port}"
    proxies = []
    for number in range(2):
        pool = make_engine(postgres.url)
        shared = SharedLedger(pool, holder=f"worker-{number}", estimate=Cap(tokens=2000, usd=0.05))
        await shared.start()
        proxy = MeteringProxy(
            Upstreams(anthropic_url=url, anthropic_key="sk-real"), tmp_path / f"p{number}.sock", shared=shared
        )
        await proxy.start()
        proxies.append(proxy)
    yield proxies
    for proxy in proxies:
        await proxy.stop()
        assert proxy.shared is not None
        await proxy.shared.engine.dispose()


async def call_until_stopped(proxy: MeteringProxy, token: str) -> list[int]:
    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=proxy.url, timeout=60) as client:
        while not statuses or statuses[-1] == 200:
            answer = await client.post("/v1/messages", headers={"x-api-key": token}, json={"model": MODEL})
            statuses.append(answer.status_code)
    return statuses


@pytest.mark.parametrize("unit", ["tokens", "usd"])
async def test_a_daily_cap_holds_across_two_workers_within_one_call(
    workers: list[MeteringProxy], provider: SlowProvider, unit: str
) -> None:
    price = cost_usd(CALL, model=MODEL, provider="anthropic", at=datetime.now(UTC))
    cap = Cap(tokens=10 * CALL.total_tokens + 500) if unit == "tokens" else Cap(usd=round(10.5 * price, 6))
    project = f"alice/spend-{uuid.uuid4().hex[:8]}"
    runs = [
        workers[number % 2].open_run(f"run-{number}", Budget(), policy(project, cap)) for number in range(3)
    ]

    statuses = await asyncio.gather(
        *(call_until_stopped(workers[number % 2], token) for number, (token, _) in enumerate(runs))
    )

    for proxy in workers:
        await proxy.settled()
    answered = sum(status == 200 for run in statuses for status in run)
    assert all(run[-1] == 403 for run in statuses)
    assert provider.calls == answered  # a refused call never reached the provider
    for _, ledger in runs:
        assert ledger.reason is not None
        assert "the project's daily budget" in ledger.reason
    shared = workers[0].shared
    assert shared is not None
    [day] = [scope for scope in policy(project, cap).scopes(datetime.now(UTC)) if ":day:" in scope.key]
    state = (await shared.state((day.key,)))[day.key]
    assert state.reservations == 0
    assert state.spent_tokens == answered * CALL.total_tokens
    assert state.spent_usd == pytest.approx(answered * price)
    if unit == "tokens":
        assert cap.tokens is not None
        assert cap.tokens <= state.spent_tokens <= cap.tokens + CALL.total_tokens
    else:
        assert cap.usd is not None
        assert cap.usd <= state.spent_usd <= cap.usd + price


async def test_a_dead_workers_reservation_stops_counting_and_the_cap_still_holds(
    postgres: EmbeddedPostgres, engine: AsyncEngine
) -> None:
    project = f"alice/lease-{uuid.uuid4().hex[:8]}"
    scopes = policy(project, Cap(tokens=1000)).scopes(datetime.now(UTC))
    estimate = Cap(tokens=2000)
    # The dead worker: it reserved the one call that may pass the cap, then never renewed or settled.
    dead = SharedLedger(engine, holder="dead-worker", estimate=estimate, lease_seconds=1)
    held = await dead.reserve(scopes, run_id="run-dead")
    assert held.reservation is not None
    live = SharedLedger(engine, holder="live-worker", estimate=estimate, lease_seconds=30)
    await live.start()
    try:
        keys = tuple(scope.key for scope in scopes)
        assert (await live.state(keys))[keys[0]].reservations == 1

        # While the dead call's lease runs, another call waits: the room left is less than one call.
        mine = await asyncio.wait_for(live.reserve(scopes, run_id="run-live"), timeout=60)

        assert mine.reservation is not None
        assert (await live.state(keys))[keys[0]] == ScopeState(reserved_tokens=2000, reservations=1)
        await live.settle(mine.reservation, tokens=1500, usd=0.0)
        refused = await live.reserve(scopes, run_id="run-live")
        assert refused.reservation is None
        assert refused.refused == "1500 tokens of 1000 spent: " + scopes[0].label + " is used up"
    finally:
        await live.stop()


def test_a_call_starts_waits_or_is_refused_by_the_room_left() -> None:
    scope = Scope("project:a/b:day:2026-12-07", Cap(tokens=10_000, usd=1.0), "the day")
    estimate = Cap(tokens=2000, usd=0.1)

    def verdict(state: ScopeState) -> Verdict:
        return decide((scope,), {scope.key: state}, estimate).verdict

    assert verdict(ScopeState()) is Verdict.START
    assert verdict(ScopeState(spent_tokens=6000, reserved_tokens=2000, reservations=1)) is Verdict.START
    # Room for less than one call: only alone, as the one call that may pass the cap.
    assert verdict(ScopeState(spent_tokens=9000)) is Verdict.START
    assert verdict(ScopeState(spent_tokens=7000, reserved_tokens=2000, reservations=1)) is Verdict.WAIT
    assert verdict(ScopeState(spent_usd=0.95, reserved_usd=0.1, reservations=1)) is Verdict.WAIT
    assert verdict(ScopeState(spent_tokens=10_000)) is Verdict.REFUSE
    assert verdict(ScopeState(spent_usd=1.2)) is Verdict.REFUSE
    # A scope without caps never holds a call back.
    free = Scope("global:month:2026-12", Cap(), "free")
    assert decide((free,), {free.key: ScopeState(spent_tokens=10**12)}, estimate).verdict is Verdict.START


def test_periods_follow_the_projects_time_zone_and_the_global_month_is_utc() -> None:
    at = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    tokyo = SpendPolicy(project="a/b", day=Cap(), month=Cap(), global_month=Cap(), time_zone="Asia/Tokyo")
    assert [scope.key for scope in tokyo.scopes(at)] == [
        "project:a/b:day:2027-01-01",
        "project:a/b:month:2027-01",
        "global:month:2026-12",
    ]
    with pytest.raises(ValueError, match="unknown time zone"):
        SpendPolicy(project="a/b", day=Cap(), month=Cap(), global_month=Cap(), time_zone="Mars/Olympus")


async def test_of_many_calls_racing_for_the_last_room_only_one_starts(
    postgres: EmbeddedPostgres,
    engine: AsyncEngine,  # engine: the migrated schema
) -> None:
    project = f"alice/race-{uuid.uuid4().hex[:8]}"
    scopes = policy(project, Cap(tokens=1000)).scopes(datetime.now(UTC))
    pools = [make_engine(postgres.url, pool_size=8) for _ in range(2)]
    ledgers = [
        SharedLedger(pool, holder=f"worker-{n}", estimate=Cap(tokens=2000)) for n, pool in enumerate(pools)
    ]
    started: list[str] = []
    first = await ledgers[0].reserve(scopes, run_id="run-first")  # the counters exist before the race
    assert first.reservation is not None
    await ledgers[0].settle(first.reservation, tokens=0, usd=0.0)

    async def call(number: int) -> None:
        ledger = ledgers[number % 2]
        reserved = await ledger.reserve(scopes, run_id=f"run-{number}")
        if reserved.reservation is not None:
            started.append(reserved.reservation.id)
            await ledger.settle(reserved.reservation, tokens=1500, usd=0.0)

    try:
        await asyncio.gather(*(call(number) for number in range(16)))
    finally:
        for pool in pools:
            await pool.dispose()

    assert len(started) == 1


async def test_without_its_ledger_the_proxy_refuses_calls_rather_than_leave_them_uncounted(
    provider: SlowProvider, tmp_path: Path
) -> None:
    nowhere = create_async_engine("postgresql+asyncpg://paid@127.0.0.1:9/none", pool_pre_ping=False)
    shared = SharedLedger(nowhere, holder="worker", estimate=Cap(tokens=2000))
    url = f"http://127.0.0.1:{provider.port}"
    proxy = MeteringProxy(Upstreams(anthropic_url=url), tmp_path / "p.sock", shared=shared)
    await proxy.start()
    try:
        token, _ = proxy.open_run("run-1", Budget(), policy("alice/x", Cap(tokens=10**6)))
        async with httpx.AsyncClient(base_url=proxy.url) as client:
            answer = await client.post("/v1/messages", headers={"x-api-key": token}, json={"model": MODEL})
    finally:
        await proxy.stop()
        await nowhere.dispose()

    assert answer.status_code == 503
    assert "cannot check its budgets" in answer.json()["error"]["message"]
    assert provider.calls == 0
