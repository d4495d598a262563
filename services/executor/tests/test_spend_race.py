"""The ledger's compare-and-set under a race forced to happen: every reservation has read the same
empty scope and waits on the same row lock before any of them writes. Without the compare-and-set
each of them would start; with it only the first does, and the others read again and wait or
refuse. (A reservation is one short statement, so unforced races rarely overlap.)"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.waiting import wait_until_async
from paid_executor.proxy import Cap, SharedLedger, SpendPolicy
from paid_executor.proxy.budgets import Scope, ScopeState, Verdict, decide
from paid_executor.proxy.shared_ledger import _Changed
from paid_runtime.database import make_engine

CALLS = 8
WAITING_ON_THE_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE wait_event_type = 'Lock' AND query LIKE '%spend_reservations%'"
)


async def test_calls_that_all_read_the_last_room_before_any_writes_start_only_one(
    postgres: EmbeddedPostgres,
    engine: AsyncEngine,  # engine: the migrated schema
) -> None:
    project = f"alice/forced-{uuid.uuid4().hex[:8]}"
    policy = SpendPolicy(project=project, day=Cap(tokens=1000), month=Cap(), global_month=Cap())
    scopes = policy.scopes(datetime.now(UTC))
    pools = [make_engine(postgres.url, pool_size=CALLS // 2) for _ in range(2)]
    ledgers = [
        SharedLedger(pool, holder=f"worker-{n}", estimate=Cap(tokens=2000)) for n, pool in enumerate(pools)
    ]
    first = await ledgers[0].reserve(scopes, run_id="run-first")  # the counters exist before the race
    assert first.reservation is not None
    await ledgers[0].settle(first.reservation, tokens=0, usd=0.0)
    started: list[str] = []

    async def call(number: int) -> None:
        ledger = ledgers[number % 2]
        reserved = await ledger.reserve(scopes, run_id=f"run-{number}")
        if reserved.reservation is not None:
            started.append(reserved.reservation.id)
            await ledger.settle(reserved.reservation, tokens=1500, usd=0.0)

    try:
        async with engine.connect() as holder:
            await holder.execute(
                text("SELECT 1 FROM executor.spend_counters WHERE scope = :scope FOR UPDATE"),
                {"scope": scopes[0].key},
            )

            async def all_waiting() -> bool:
                async with engine.connect() as watcher:
                    return int((await watcher.execute(WAITING_ON_THE_LOCK)).scalar_one()) >= CALLS

            calls = asyncio.gather(*(call(number) for number in range(CALLS)))
            try:
                await wait_until_async(all_waiting, timeout=60, what="every call waiting on the row lock")
            finally:
                await holder.commit()
            await calls
    finally:
        for pool in pools:
            await pool.dispose()

    assert len(started) == 1


# (spent tokens, spent usd, reserved tokens, reserved usd): with a reservation when anything is reserved
STATES = [
    (0, 0.0, 0, 0.0),
    (6000, 0.0, 2000, 0.0),  # room for exactly one more estimate
    (9000, 0.0, 0, 0.0),  # some room, no reservation: the one call that may pass the cap
    (7000, 0.0, 2000, 0.0),
    (0, 0.95, 0, 0.1),
    (0, 0.8, 0, 0.1),  # exactly one more estimate in money
    (10_000, 0.0, 0, 0.0),
    (0, 1.2, 0, 0.0),
]


async def test_the_reservation_statement_decides_as_the_rule_does(engine: AsyncEngine) -> None:
    """The statement's own START condition and budgets.decide read the same state; were they to
    disagree, a call would be reserved past the rule, or read again forever."""
    ledger = SharedLedger(engine, holder="worker", estimate=Cap(tokens=2000, usd=0.1))
    for spent_tokens, spent_usd, reserved_tokens, reserved_usd in STATES:
        key = f"project:alice/rule-{uuid.uuid4().hex[:8]}:day:2026-12-07"
        scope = Scope(key, Cap(tokens=10_000, usd=1.0), "the day")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO executor.spend_counters (scope, spent_tokens, spent_usd) VALUES (:k, :t, :u)"
                ),
                {"k": key, "t": spent_tokens, "u": spent_usd},
            )
            if reserved_tokens or reserved_usd:
                await connection.execute(
                    text(
                        "INSERT INTO executor.spend_reservations "
                        "(id, run_id, holder, scopes, tokens, usd, lease_until) "
                        "VALUES (:id, 'other', 'other', ARRAY[:k], :t, :u, now() + interval '1 hour')"
                    ),
                    {"id": f"held-{key}", "k": key, "t": reserved_tokens, "u": reserved_usd},
                )
        held = 1 if reserved_tokens or reserved_usd else 0
        state = ScopeState(spent_tokens, spent_usd, reserved_tokens, reserved_usd, held)
        expected = decide((scope,), {key: state}, ledger.estimate).verdict
        try:
            decision, _, _ = await ledger._try_reserve((scope,), (key,), "run", None)
            verdict: Verdict | str = decision.verdict
        except _Changed:
            verdict = "the statement found no room where the rule starts the call"
        assert (spent_tokens, spent_usd, reserved_tokens, reserved_usd, verdict) == (
            spent_tokens,
            spent_usd,
            reserved_tokens,
            reserved_usd,
            expected,
        )
