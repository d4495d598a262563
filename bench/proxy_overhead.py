"""What the executor's metering proxy adds to one model call: the same call made straight to the LLM
emulator and through a MeteringProxy in front of it, alternately, by paid_llm's clients (whole and
streamed, Anthropic and OpenAI). Also what metering and pricing cost alone (paid_llm's UsageMeter and
the genai-prices lookup) on one real-shaped answer. A third proxy counts every call in the shared
spend ledger (an embedded PostgreSQL: reserve before, settle after), so the budgets' own cost per call
is the p50 of the paired budgeted-minus-plain proxied calls (the shared backoff's pause is read by the
same statement; its separate lookup is timed alone). The clients run in a process of their own, as
agents do. Then the ledger's statements alone, in a loop. Prints `name value unit` lines."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import paid_executor
from paid_devstack.test_servers import scratch_postgres
from paid_executor.proxy import Budget, Cap, MeteringProxy, SharedLedger, SpendPolicy
from paid_executor.proxy.ledger_statements import RESERVE, SETTLE
from paid_executor.proxy.server import Upstreams
from paid_executor.proxy.shared_ledger import ledger_engine
from paid_executor.proxy.spend_alerts import SpendAlerts
from paid_llm import (
    HTTP_PROVIDERS,
    ChatRequest,
    LLMClient,
    LLMSettings,
    Message,
    Provider,
    Wire,
    cost_usd,
    make_client,
    usage_of_answer,
)
from paid_llm_emulator import LLMEmulator
from paid_runtime.database import make_engine, migrate

MODELS = {Provider.ANTHROPIC: "claude-haiku-4-5", Provider.OPENAI: "gpt-4o-mini"}
HIGH = Cap(tokens=10**15, usd=10.0**9)  # counted, never reached
MIGRATIONS = Path(paid_executor.__file__).parent / "migrations"
REQUEST = ChatRequest(messages=(Message(role="user", content="plan something"),))


def client(provider: Provider, base: str, key: str) -> LLMClient:
    url = base if provider is Provider.ANTHROPIC else f"{base}/v1"
    return make_client(LLMSettings(provider=provider, base_url=url, model=MODELS[provider], api_key=key))


async def complete(llm: LLMClient) -> None:
    await llm.complete(REQUEST)


async def stream(llm: LLMClient) -> None:
    async for _chunk in llm.stream(REQUEST):
        pass


async def timed(call: Callable[[LLMClient], Awaitable[None]], llm: LLMClient) -> float:
    started = time.perf_counter()
    await call(llm)
    return time.perf_counter() - started


Round = tuple[float, float, float]  # one call straight, through the plain proxy, through the budgeted one


def agent_rounds(provider: str, mode: str, endpoints: list[tuple[str, str]], runs: int) -> list[Round]:
    """Runs in a process of its own, as an agent does: the proxies' work after an answer is sent (the
    settlement) then competes with the agent for the CPU, not for the agent's event loop."""
    return asyncio.run(_agent_rounds(Provider(provider), mode, endpoints, runs))


async def _agent_rounds(
    provider: Provider, mode: str, endpoints: list[tuple[str, str]], runs: int
) -> list[Round]:
    call = complete if mode == "complete" else stream
    direct, proxied, with_budgets = (client(provider, url, key) for url, key in endpoints)
    try:
        for llm in (direct, proxied, with_budgets):
            await call(llm)  # warm each connection
        return [
            (await timed(call, direct), await timed(call, proxied), await timed(call, with_budgets))
            for _ in range(runs)
        ]
    finally:
        for llm in (direct, proxied, with_budgets):
            await llm.aclose()


async def measure(emulator: LLMEmulator, plain: MeteringProxy, budgeted: MeteringProxy, runs: int) -> None:
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as agent:
        for provider in HTTP_PROVIDERS:
            run_id = f"bench-{provider.value}"
            token, ledger = plain.open_run(run_id, Budget(max_tokens=10**12))
            policy = SpendPolicy(project="bench/bench", day=HIGH, month=HIGH, global_month=HIGH)
            budget_token, _ = budgeted.open_run(run_id, Budget(max_tokens=10**12), policy)
            endpoints = [(emulator.url, "sk-bench"), (plain.url, token), (budgeted.url, budget_token)]
            for mode in ("complete", "stream"):
                rounds = await loop.run_in_executor(
                    agent, agent_rounds, provider.value, mode, endpoints, runs
                )
                report(f"proxy_{provider.value}_{mode}", rounds)
            print(f"proxy_{provider.value}_metered_cost {ledger.cost_usd:.6f} usd")


def report(name: str, rounds: list[Round]) -> None:
    print(f"{name}_direct_p50 {statistics.median(d for d, _, _ in rounds) * 1000:.2f} ms")
    print(f"{name}_proxied_p50 {statistics.median(p for _, p, _ in rounds) * 1000:.2f} ms")
    print(f"{name}_overhead_p50 {statistics.median(p - d for d, p, _ in rounds) * 1000:.2f} ms")
    print(f"{name}_budgeted_p50 {statistics.median(b for _, _, b in rounds) * 1000:.2f} ms")
    print(f"{name}_budgets_overhead_p50 {statistics.median(b - p for _, p, b in rounds) * 1000:.2f} ms")


async def ledger_alone(shared: SharedLedger, runs: int) -> None:
    """The budgets' own work, outside any HTTP call: the one statement a budgeted call waits for before
    it is forwarded (pause, read, decide, compare-and-set), and the settlement that runs after it."""
    policy = SpendPolicy(project="bench/alone", day=HIGH, month=HIGH, global_month=HIGH)
    reserving, settling = [], []
    for _ in range(runs):
        started = time.perf_counter()
        scopes = policy.scopes(datetime.now(UTC))
        reserved = await shared.reserve(scopes, run_id="bench", provider="anthropic")
        reserving.append(time.perf_counter() - started)
        assert reserved.reservation is not None
        started = time.perf_counter()
        await shared.settle(reserved.reservation, tokens=100, usd=0.001)
        settling.append(time.perf_counter() - started)
    print(f"ledger_reserve_alone_p50 {statistics.median(reserving) * 1000:.2f} ms")
    print(f"ledger_settle_alone_p50 {statistics.median(settling) * 1000:.2f} ms")


async def reserve_statement_paired(shared: SharedLedger, runs: int) -> None:
    """The reservation statement through SQLAlchemy (as the proxy ran it before) and through asyncpg's
    own pool (as it runs it now), alternately on the same database, each reservation settled untimed."""
    policy = SpendPolicy(project="bench/paired", day=HIGH, month=HIGH, global_month=HIGH)
    scopes = policy.scopes(datetime.now(UTC))
    await shared.reserve(scopes, run_id="warm", provider="anthropic")  # counters made, pool opened
    keys = [scope.key for scope in scopes]
    caps_tokens = [scope.cap.tokens for scope in scopes]
    caps_usd = [None if scope.cap.usd is None else float(scope.cap.usd) for scope in scopes]
    direct = await shared.reservation_pool()
    took: dict[str, list[float]] = {"sqlalchemy": [], "asyncpg": []}
    for number in range(runs):
        for route in ("sqlalchemy", "asyncpg") if number % 2 else ("asyncpg", "sqlalchemy"):
            reservation = f"paired-{route}-{number}"
            args = (keys, caps_tokens, caps_usd, len(keys), reservation, "b", "b", 100, 0.01, 30.0, None)
            started = time.perf_counter()
            if route == "asyncpg":
                rows = await direct.fetch(RESERVE, *args)
            else:
                async with shared.engine.connect() as connection:
                    rows = (await connection.exec_driver_sql(RESERVE, args)).all()
            took[route].append(time.perf_counter() - started)
            assert rows[0][7] == 1, "reserved"
            async with shared.engine.connect() as connection:
                await connection.execute(SETTLE, {"id": reservation, "keys": keys, "tokens": 1, "usd": 0.0})
    for route, times in took.items():
        print(f"ledger_reserve_statement_{route}_p50 {statistics.median(times) * 1000:.3f} ms")
    saved = [old - new for old, new in zip(took["sqlalchemy"], took["asyncpg"], strict=True)]
    print(f"ledger_reserve_statement_saved_paired_p50 {statistics.median(saved) * 1000:.3f} ms")


def metering_and_pricing(runs: int) -> float:
    counts = {"input_tokens": 12, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 30000}
    body = json.dumps(
        {"model": "claude-sonnet-4-5-20250929", "usage": dict(counts, output_tokens=345)}
    ).encode()
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        model, usage = usage_of_answer(Wire.ANTHROPIC_MESSAGES, body)
        cost_usd(usage, model=model, provider="anthropic", at=datetime.now(UTC))
        took.append(time.perf_counter() - started)
    return statistics.median(took) * 1_000_000


async def backoff_check(proxy: MeteringProxy, runs: int) -> float:
    """The shared backoff's own lookup (proxy/backoff.py), alone: what a call pays when the pauses do not
    live in the ledger's database (where they do, the one reservation statement reads them)."""
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        await proxy.backoff.remaining("anthropic")
        took.append(time.perf_counter() - started)
    return statistics.median(took) * 1000


async def main(runs: int) -> None:
    print(f"proxy_usage_and_price_per_call_p50 {metering_and_pricing(runs * 10):.1f} us")
    with (
        LLMEmulator() as emulator,
        tempfile.TemporaryDirectory() as scratch,
        scratch_postgres("bench-spend") as postgres,
    ):
        emulator.reply(json.dumps({"summary": "s" * 200, "steps": ["a step"] * 20}))
        upstreams = Upstreams(anthropic_url=emulator.url, openai_url=emulator.url)
        engine = make_engine(postgres.url)
        await migrate(engine, schema="executor", migrations_dir=MIGRATIONS)
        pool = ledger_engine(engine.url)

        async def published(event: object) -> object:  # NATS is not part of this figure
            return event

        # With its alert outbox, as the executor runs it: each settlement checks the 80% and 100% lines.
        shared = SharedLedger(
            pool, holder="bench", estimate=Cap(tokens=100_000, usd=1.0), alerts=SpendAlerts(pool, published)
        )
        await shared.start()
        plain = MeteringProxy(upstreams, Path(scratch) / "plain.sock")
        budgeted = MeteringProxy(upstreams, Path(scratch) / "budgeted.sock", shared=shared)
        await plain.start()
        await budgeted.start()
        try:
            await measure(emulator, plain, budgeted, runs)
            print(f"proxy_backoff_check_p50 {await backoff_check(budgeted, runs * 5):.3f} ms")
            await ledger_alone(shared, runs)
            await reserve_statement_paired(shared, runs)
        finally:
            await plain.stop()
            await budgeted.stop()
            await shared.engine.dispose()
            await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    asyncio.run(main(parser.parse_args().runs))
