"""Shared backoff: a provider's 429 with retry-after pauses every run on that provider, on every
worker. Two metering proxies with their own pools (two workers) in front of the LLM emulator, which
logs each request it receives with the time it arrived."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_devstack.postgres import EmbeddedPostgres
from paid_executor.proxy import Budget, Cap, MeteringProxy, SharedLedger, SpendPolicy
from paid_executor.proxy.backoff import ProviderBackoff, retry_after_seconds
from paid_executor.proxy.server import Upstreams
from paid_llm_emulator.server import LLMEmulator
from paid_runtime.database import make_engine

MODEL = "claude-sonnet-4-5-20250929"
PAUSE_SECONDS = 1.5


def test_retry_after_is_read_as_seconds_or_a_date_and_garbage_is_no_pause() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(" 0.5 ") == 0.5
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert retry_after_seconds("99999999") == 3600.0  # bounded
    for unreadable in (None, "", "soon", "-3", "nan", "0", format_datetime(now - timedelta(seconds=5))):
        assert retry_after_seconds(unreadable, now=now) is None


@pytest.fixture
async def llm() -> AsyncIterator[LLMEmulator]:
    with LLMEmulator() as emulator:
        yield emulator


@pytest.fixture
async def two_workers(
    llm: LLMEmulator, postgres: EmbeddedPostgres, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[list[MeteringProxy]]:
    proxies = []
    for number in range(2):
        shared = SharedLedger(make_engine(postgres.url), holder=f"worker-{number}", estimate=Cap(2000, 0.05))
        proxy = MeteringProxy(
            Upstreams(anthropic_url=llm.url, anthropic_key="sk-real"),
            tmp_path / f"p{number}.sock",
            shared=shared,
            backoff=ProviderBackoff(shared.engine, max_wait_seconds=10),
        )
        await proxy.start()
        proxies.append(proxy)
    yield proxies
    for proxy in proxies:
        await proxy.stop()
        assert proxy.shared is not None
        await proxy.shared.engine.dispose()
    async with engine.begin() as connection:  # no pause left for the session's other tests
        await connection.execute(text("DELETE FROM executor.provider_backoffs"))


async def call(proxy: MeteringProxy, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=proxy.url, timeout=60) as client:
        body = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
        return await client.post("/v1/messages", headers={"x-api-key": token}, json=body)


def budgets(with_budgets: bool) -> SpendPolicy | None:
    """A budgeted run's call reads the pause in the statement that reserves its room; others read it alone."""
    room = Cap(tokens=10**9)
    project = f"alice/paused-{uuid.uuid4().hex[:8]}"
    return SpendPolicy(project=project, day=room, month=room, global_month=room) if with_budgets else None


@pytest.mark.parametrize("with_budgets", [False, True])
async def test_a_429_with_retry_after_pauses_every_run_on_every_worker_until_the_deadline(
    llm: LLMEmulator, two_workers: list[MeteringProxy], with_budgets: bool
) -> None:
    llm.fail(429, "rate limited", times=1, retry_after=PAUSE_SECONDS)
    llm.reply("fine")
    first, second = two_workers
    tokens = [
        proxy.open_run(f"run-{n}", Budget(), budgets(with_budgets))[0]
        for n, proxy in enumerate((first, second, second))
    ]

    refused = await call(first, tokens[0])
    answers = await asyncio.gather(call(first, tokens[0]), call(second, tokens[1]), call(second, tokens[2]))

    assert refused.status_code == 429  # the provider's own answer, passed on
    assert refused.headers["retry-after"] == str(PAUSE_SECONDS)
    assert [answer.status_code for answer in answers] == [200, 200, 200]  # held, then sent
    limited, *later = llm.requests
    assert len(later) == 3
    deadline = limited.received_at + PAUSE_SECONDS
    assert [request.received_at >= deadline for request in later] == [True, True, True]


@pytest.mark.parametrize("with_budgets", [False, True])
async def test_a_pause_longer_than_a_call_may_wait_is_answered_at_once_with_the_time_left(
    llm: LLMEmulator, two_workers: list[MeteringProxy], with_budgets: bool
) -> None:
    llm.fail(429, "rate limited", times=1, retry_after=600)
    llm.reply("fine")
    first, second = two_workers
    token_first, _ = first.open_run("run-a", Budget(), budgets(with_budgets))
    token_second, _ = second.open_run("run-b", Budget(), budgets(with_budgets))

    await call(first, token_first)
    held_back = await call(second, token_second)

    assert held_back.status_code == 429
    assert 590 <= int(held_back.headers["retry-after"]) <= 600
    assert "anthropic asked Paid to wait" in held_back.json()["error"]["message"]
    assert len(llm.requests) == 1  # the other worker's call never reached the provider
