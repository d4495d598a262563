"""The spend ledger every executor worker shares, in PostgreSQL: a counter per budget scope and
period, and a leased reservation per model call in flight.

A call reserves before it is forwarded and settles after its answer. Both bump the version of every
scope they touch, and a reservation is written only if the versions it read are unchanged
(compare-and-set), so two workers deciding at once cannot both take the last room. A reservation
holds while its worker renews its lease; when the worker dies it expires and stops counting."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]  # no stubs; used for its pool and errors only
from sqlalchemy import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from paid_executor.proxy.budgets import Cap, Decision, Scope, ScopeState, Verdict, decide, thresholds_crossed
from paid_executor.proxy.ledger_statements import (
    CREATE_COUNTERS,
    FORGET_EXPIRED,
    READ,
    RENEW,
    RESERVE,
    SETTLE,
)
from paid_executor.proxy.spend_alerts import SpendAlerts, threshold_event

log = logging.getLogger(__name__)

RETRYABLE_STATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
# What the ledger raises when its database cannot answer (the proxy then refuses the call).
LEDGER_ERRORS = (SQLAlchemyError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


T = TypeVar("T")


class _Changed(Exception):
    """A scope's version moved between reading and reserving: the transaction is rolled back."""


@dataclass(frozen=True)
class Reservation:
    id: str
    keys: tuple[str, ...]
    scopes: tuple[Scope, ...] = ()  # with their caps, to tell which thresholds a settlement crosses
    run_id: str = ""


@dataclass(frozen=True)
class Reserved:
    """What `reserve` answers: a reservation to settle, or the decision that refused the call."""

    reservation: Reservation | None
    refused: str | None = None
    paused: float = 0.0  # seconds until the call's provider may be called again


def ledger_engine(url: URL | str) -> AsyncEngine:
    """A pool for the ledger alone, tuned for the proxy's hot path (a reservation is one round trip,
    a settlement one):
    - each statement commits alone: every write is one statement, and compare-and-set, not a
      transaction, is what keeps two decisions apart (a version bumped by a failed reservation only
      makes others read again);
    - commits do not wait for the WAL to reach the disk: a PostgreSQL crash then forgets at most the
      last moments of ledger writes (wal_writer_delay, 200 ms by default, times three);
    - no pre-ping: a dropped connection fails one call, which the proxy reports."""
    return create_async_engine(
        url,
        pool_size=8,
        isolation_level="AUTOCOMMIT",
        connect_args={"server_settings": {"synchronous_commit": "off"}},
    )


async def _keep_session(_: asyncpg.Connection) -> None:
    """A released connection keeps its session as is: the reservation statement changes nothing in it
    (no SET, LISTEN, lock or cursor), and asyncpg's default reset would add a round trip to every call."""


class SharedLedger:
    """One per worker process. `holder` names the worker in the reservations it writes."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        holder: str,
        estimate: Cap,
        lease_seconds: float = 30.0,
        wait_seconds: float = 0.05,
        alerts: SpendAlerts | None = None,
    ) -> None:
        """`alerts`: where the 80% and 100% thresholds a settlement reaches are announced."""
        # Each statement commits alone (see ledger_engine), whatever pool it shares.
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.holder = holder
        self.estimate = estimate
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.alerts = alerts
        self._held: set[str] = set()
        self._renewer: asyncio.Task[None] | None = None
        self._reserving: asyncpg.Pool | None = None
        self._reserving_opened = asyncio.Lock()

    async def start(self) -> None:
        self._renewer = asyncio.create_task(self._renew_leases())

    async def stop(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
            self._renewer = None
        if self._reserving is not None:
            await self._reserving.close()
            self._reserving = None

    async def reservation_pool(self) -> asyncpg.Pool:
        """The pool the reservation statement runs on: asyncpg's own, without SQLAlchemy's layers
        (checkout, compilation cache, result wrapping), its statement prepared once per connection
        (asyncpg's statement cache), with no reset query on release. Its commits do not wait for the
        WAL, as `ledger_engine`'s do. Opened at the first reservation, closed by `stop`."""
        async with self._reserving_opened:
            if self._reserving is None:
                url = self.engine.url.set(drivername="postgresql")
                self._reserving = await asyncpg.create_pool(
                    url.render_as_string(hide_password=False),
                    min_size=1,
                    max_size=8,
                    server_settings={"synchronous_commit": "off"},
                    reset=_keep_session,
                )
            return self._reserving

    async def reserve(
        self, scopes: tuple[Scope, ...], *, run_id: str, provider: str | None = None
    ) -> Reserved:
        """Waits while calls in flight hold the room this one needs; refuses once a cap is reached.
        With `provider`, answers at once (reserving nothing) while that provider is paused."""
        keys = tuple(scope.key for scope in scopes)
        pause = self.wait_seconds
        while True:
            try:
                decision, reservation, paused = await self._retrying(
                    lambda: self._try_reserve(scopes, keys, run_id, provider)
                )
            except _Changed:
                continue  # read again at once: the ledger moved, it is not full
            if paused > 0:
                return Reserved(None, paused=paused)
            if decision.verdict is Verdict.REFUSE:
                return Reserved(None, refused=decision.reason)
            if reservation is not None:
                return Reserved(reservation)
            await asyncio.sleep(pause)  # the ledger changes when a call settles or a lease expires
            pause = min(pause * 2, 1.0)

    async def settle(self, reservation: Reservation, *, tokens: int, usd: float) -> None:
        """Counts what the call spent, even when its reservation expired meanwhile."""

        async def write() -> list[tuple[str, int, float]]:
            async with self.engine.connect() as connection:
                totals = await connection.execute(
                    SETTLE,
                    {"id": reservation.id, "keys": list(reservation.keys), "tokens": tokens, "usd": usd},
                )
                return [(str(row[0]), int(row[1]), float(row[2])) for row in totals]

        try:
            totals = await self._retrying(write)
        finally:
            self._held.discard(reservation.id)
        if self.alerts is not None:
            await self._announce_thresholds(reservation, totals, tokens=tokens, usd=usd)

    async def _announce_thresholds(
        self, reservation: Reservation, totals: list[tuple[str, int, float]], *, tokens: int, usd: float
    ) -> None:
        assert self.alerts is not None
        by_key = {scope.key: scope for scope in reservation.scopes}
        for key, spent_tokens, spent_usd in totals:
            scope = by_key.get(key)
            if scope is None:
                continue
            crossed = thresholds_crossed(
                scope.cap, spent_tokens=spent_tokens, spent_usd=spent_usd, added_tokens=tokens, added_usd=usd
            )
            for percent, unit in crossed:
                event = threshold_event(
                    scope,
                    percent,
                    unit,
                    spent_tokens=spent_tokens,
                    spent_usd=spent_usd,
                    run_id=reservation.run_id,
                )
                try:
                    await self.alerts.announce(event)
                except Exception:  # the call is counted; only its announcement is lost
                    log.exception("recording %s in the spend alerts failed", event.event_id)

    async def state(self, keys: tuple[str, ...]) -> dict[str, ScopeState]:
        async with self.engine.connect() as connection:
            return (await self._read(connection, keys))[0]

    async def _try_reserve(
        self, scopes: tuple[Scope, ...], keys: tuple[str, ...], run_id: str, provider: str | None
    ) -> tuple[Decision, Reservation | None, float]:
        reservation = Reservation(f"{self.holder}:{secrets.token_hex(8)}", keys, scopes, run_id)
        self._held.add(reservation.id)  # renewed from now on, before anyone can see it expire
        try:
            pool = self._reserving or await self.reservation_pool()
            rows = await pool.fetch(
                RESERVE,
                list(keys),
                [scope.cap.tokens for scope in scopes],
                [None if scope.cap.usd is None else float(scope.cap.usd) for scope in scopes],
                len(keys),
                reservation.id,
                run_id,
                self.holder,
                self.estimate.tokens or 0,
                float(self.estimate.usd or 0.0),
                float(self.lease_seconds),
                provider,
            )
            if rows and rows[0][7]:
                return Decision(Verdict.START), reservation, 0.0
            self._held.discard(reservation.id)
            if rows and rows[0][8] is not None:
                return Decision(Verdict.WAIT), None, float(rows[0][8])
            states, versions = self._states(rows, keys)
            if any(version is None for version in versions):
                async with self.engine.connect() as connection:
                    await connection.execute(CREATE_COUNTERS, {"keys": list(keys)})
                raise _Changed
        except BaseException:
            self._held.discard(reservation.id)
            raise
        decision = decide(scopes, states, self.estimate)
        if decision.verdict is Verdict.START:  # there was room, but another call took it meanwhile
            raise _Changed
        return decision, None, 0.0

    @staticmethod
    async def _read(
        connection: AsyncConnection, keys: tuple[str, ...]
    ) -> tuple[dict[str, ScopeState], list[int | None]]:
        return SharedLedger._states((await connection.execute(READ, {"keys": list(keys)})).all(), keys)

    @staticmethod
    def _states(
        rows: Sequence[Sequence[Any]], keys: tuple[str, ...]
    ) -> tuple[dict[str, ScopeState], list[int | None]]:
        by_key = {row[0]: row for row in rows}
        states = {
            key: ScopeState(int(row[2]), float(row[3]), int(row[4]), float(row[5]), int(row[6]))
            for key, row in by_key.items()
        }
        return states, [by_key[key][1] for key in keys]

    @staticmethod
    async def _retrying(attempt: Callable[[], Awaitable[T]]) -> T:
        """Runs a transaction again when PostgreSQL aborted it for a deadlock or a serialization failure."""
        for tries in range(1, 100):
            try:
                return await attempt()
            except (DBAPIError, asyncpg.PostgresError) as error:
                cause = error.orig if isinstance(error, DBAPIError) else error
                state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
                if state not in RETRYABLE_STATES or tries >= 20:
                    raise
        raise AssertionError("unreachable")

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                async with self.engine.connect() as connection:
                    if self._held:
                        await connection.execute(
                            RENEW, {"ids": list(self._held), "lease": self.lease_seconds}
                        )
                    await connection.execute(FORGET_EXPIRED)
                if self.alerts is not None:
                    await self.alerts.relay()
            except Exception:  # a database hiccup must not end renewals for good
                log.exception("renewing the spend ledger's leases failed")
