"""Is the executor process holding a run's worktree still there? Asked of its NATS connection, not of
its heartbeats, so that CPU starvation cannot make a live worker look dead.

Every executor process answers on `paid.executor.alive.<token of its home queue>` (`answer_for`). A probe
(`probe`) is a core NATS request there:
- an answer: the process is alive;
- "no responders", at once: nats-server holds no subscription on that subject. The connection that held
  it is closed, which is what happens when the process is killed (the kernel closes its socket) or exits;
- a timeout: the subscription is there but the process did not answer in time: starved, stopped
  (SIGSTOP), or busy. Unknown, never taken for lost: the run's heartbeat timeout stays the judge.

A reconnecting process is briefly without its subscription too, so `HomeWatch` takes a home for gone only
after `confirmations` "no responders" in a row, `interval` apart, and believes none for `settle` seconds
after its own connection (re)connected (a restarted nats-server drops every process at once) - unless
that home answered on this connection: the home then held its subscription after this process's
(re)connect, and it lost it since while this connection stayed up, which is its own connection closing,
not a restarted server. So a freshly started executor (a replica just restarted) sees a peer killed at
once instead of after the settle time. One probe loop per home per process, however many runs on that
home it watches.

Trust: only the executor's NATS user may subscribe to or request these subjects
(`paid_contracts.nats_access`); agents have no NATS access at all. An answer carries no data: the worst a
rogue executor process could do is keep a lost home looking alive, which the heartbeat timeout still ends.
A host lost without its sockets closing (power, network) is seen by nats-server only after its pings go
unanswered; the heartbeat timeout covers that case as before. Likewise a process stopped for longer than
nats-server's ping interval times its maximum of outstanding pings (2 min x 2 by default) loses its
connection and is then gone: by then its heartbeats have long timed out too."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from enum import StrEnum

from faststream.exceptions import IncorrectState
from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError

from paid_contracts import subjects

log = logging.getLogger(__name__)
PROBE_TIMEOUT_SECONDS = 1.0
PROBE_INTERVAL_SECONDS = 0.25  # two in a row: a killed home is gone 0.25-0.5 s after its close
CONFIRMATIONS = 2
# After this process's own connection (re)connects, other processes may still be reconnecting (a NATS
# server restart drops them all; nats-py waits 2 s before trying the same server again): their "no
# responders" is not believed for this long.
RECONNECT_SETTLE_SECONDS = 5.0
ALIVE_ANSWER = b"alive"


class Liveness(StrEnum):
    ALIVE = "alive"
    GONE = "gone"  # no subscription: the process's connection is closed
    UNKNOWN = "unknown"  # no answer in time, or this process could not ask


def home_token(home_queue: str) -> str:
    """One NATS token for a home queue (its name holds dots and other characters a token may not)."""
    return hashlib.sha256(home_queue.encode()).hexdigest()[:24]


async def answer_for(broker: NatsBroker, home_queue: str) -> None:
    """Answers for this process's home queue over the broker's connection until cancelled. A raw
    subscription: no per-message logs, spans or metrics at a few probes a second per watcher; nats-py
    subscribes it again after a reconnect."""
    while True:
        try:
            connection = broker.connection
            break
        except IncorrectState:  # the service host connects the broker after starting the worker
            await asyncio.sleep(0.05)

    async def answer(message: Msg) -> None:
        await message.respond(ALIVE_ANSWER)

    subscription = await connection.subscribe(
        f"{subjects.EXECUTOR_ALIVE_PREFIX}.{home_token(home_queue)}", cb=answer
    )
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(NatsError):
            await subscription.unsubscribe()


async def probe(
    connection: NatsClient, home_queue: str, *, timeout: float = PROBE_TIMEOUT_SECONDS
) -> Liveness:
    try:
        await connection.request(
            f"{subjects.EXECUTOR_ALIVE_PREFIX}.{home_token(home_queue)}", b"", timeout=timeout
        )
    except NoRespondersError:
        return Liveness.GONE
    except (NatsError, TimeoutError) as error:  # nats' TimeoutError is one; so is asking while reconnecting
        log.debug("liveness of %s unknown: %r", home_queue, error)
        return Liveness.UNKNOWN
    return Liveness.ALIVE


class HomeWatch:
    """Waits until a home queue's process is gone, sharing one probe loop per home among its waiters."""

    def __init__(
        self,
        connection: Callable[[], NatsClient],
        *,
        interval: float = PROBE_INTERVAL_SECONDS,
        timeout: float = PROBE_TIMEOUT_SECONDS,
        confirmations: int = CONFIRMATIONS,
        settle: float = RECONNECT_SETTLE_SECONDS,
    ) -> None:
        self._connection = connection
        self._interval = interval
        self._timeout = timeout
        self._confirmations = confirmations
        self._settle = settle
        self._reconnects: int | None = None  # as last seen; None: before the first probe
        self._settled_at = 0.0  # loop time from which a "no responders" is believed
        self._answered: set[str] = set()  # homes that answered since this process's last (re)connect
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._waiters: dict[str, int] = {}
        self.probes: dict[str, int] = {}  # probes sent per home, for tests and metrics

    async def until_gone(self, home_queue: str) -> None:
        """Returns once the home's process is gone; cancel it to stop watching."""
        loop = self._loops.get(home_queue)
        if loop is None:
            loop = asyncio.create_task(self._watch(home_queue), name=f"liveness-{home_token(home_queue)}")
            self._loops[home_queue] = loop
        self._waiters[home_queue] = self._waiters.get(home_queue, 0) + 1
        try:
            await asyncio.shield(loop)
        finally:
            self._waiters[home_queue] -= 1
            if not self._waiters[home_queue]:
                del self._waiters[home_queue]
                self._loops.pop(home_queue, None)
                self._answered.discard(home_queue)
                loop.cancel()

    def note_connection(self) -> NatsClient | None:
        """Starts the settle time when this process's connection (re)connected; call it often (a probe
        does) so that it starts from the connect rather than from the first probe. None: not connected."""
        try:
            connection = self._connection()
        except IncorrectState:  # the broker is not connected yet
            return None
        reconnects = connection.stats["reconnects"]
        if reconnects != self._reconnects:  # this process (re)connected: so may everyone else
            self._reconnects = reconnects
            self._settled_at = asyncio.get_running_loop().time() + self._settle
            self._answered.clear()
        return connection

    async def _probe(self, home_queue: str) -> Liveness:
        connection = self.note_connection()
        if connection is None:
            log.debug("no NATS connection to probe %s", home_queue)
            return Liveness.UNKNOWN
        now = asyncio.get_running_loop().time()
        liveness = await probe(connection, home_queue, timeout=self._timeout)
        if liveness is Liveness.ALIVE:
            self._answered.add(home_queue)
        elif liveness is Liveness.GONE and now < self._settled_at and home_queue not in self._answered:
            return Liveness.UNKNOWN
        return liveness

    async def _watch(self, home_queue: str) -> None:
        missing = 0
        clock = asyncio.get_running_loop()
        while True:
            started = clock.time()
            self.probes[home_queue] = self.probes.get(home_queue, 0) + 1
            liveness = await self._probe(home_queue)
            missing = missing + 1 if liveness is Liveness.GONE else 0
            if missing >= self._confirmations:
                log.warning("executor process of %s is gone: no responders %d times", home_queue, missing)
                return
            # One probe per interval at most; a timed-out probe has already waited longer.
            await asyncio.sleep(max(0.0, started + self._interval - clock.time()))
