"""The liveness of an executor process, read from its NATS connection: real processes on a real
nats-server. A killed process is gone; a stopped one (SIGSTOP, as CPU starvation at its worst) keeps its
subscription and is never taken for gone; a reconnect's moment without a subscription is ridden out."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError

from paid_devstack.nats import NatsServer
from paid_devstack.waiting import wait_until_async
from paid_executor.liveness import HomeWatch, Liveness, probe

ANSWERING_PROCESS = """
import asyncio, sys
from paid_executor import liveness
from paid_runtime.messaging import make_broker

async def main() -> None:
    broker = make_broker(sys.argv[1], "executor-liveness-test")
    answering = asyncio.create_task(liveness.answer_for(broker, sys.argv[2]))
    await broker.connect()
    while await liveness.probe(broker.connection, sys.argv[2]) is not liveness.Liveness.ALIVE:
        await asyncio.sleep(0.01)  # until its own subscription answers
    print("answering", flush=True)
    await answering

asyncio.run(main())
"""


@contextmanager
def answering_process(nats_url: str, home_queue: str) -> Iterator[subprocess.Popen[str]]:
    """An executor-like process holding its own NATS connection and answering for `home_queue`."""
    process = subprocess.Popen(
        [sys.executable, "-c", ANSWERING_PROCESS, nats_url, home_queue], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "answering"
        yield process
    finally:
        process.kill()
        process.wait()


def new_home() -> str:
    return f"executor-liveness@host.example-{uuid.uuid4().hex[:8]}"


async def test_a_killed_process_is_gone_and_a_stopped_one_is_never_taken_for_gone(
    nats_server: NatsServer, broker: NatsBroker
) -> None:
    stopped_home, killed_home = new_home(), new_home()
    watch = HomeWatch(lambda: broker.connection, interval=0.1, timeout=0.3, settle=0)
    with (
        answering_process(nats_server.url, stopped_home) as stopped,
        answering_process(nats_server.url, killed_home) as killed,
    ):
        for home in (stopped_home, killed_home):
            assert await probe(broker.connection, home) is Liveness.ALIVE
        os.kill(stopped.pid, signal.SIGSTOP)
        watching_stopped = asyncio.create_task(watch.until_gone(stopped_home))
        killed.kill()
        killed.wait()

        await asyncio.wait_for(watch.until_gone(killed_home), timeout=30)
        assert await probe(broker.connection, killed_home) is Liveness.GONE

        await wait_until_async(
            lambda: watch.probes.get(stopped_home, 0) >= 5, timeout=30, what="five probes of the stopped"
        )
        assert not watching_stopped.done()
        assert await probe(broker.connection, stopped_home, timeout=0.3) is Liveness.UNKNOWN
        os.kill(stopped.pid, signal.SIGCONT)
        assert await probe(broker.connection, stopped_home, timeout=10) is Liveness.ALIVE
        assert not watching_stopped.done()
        watching_stopped.cancel()


async def test_a_home_nobody_answers_for_is_gone(broker: NatsBroker) -> None:
    assert await probe(broker.connection, new_home()) is Liveness.GONE


class _Flapping:
    """A connection whose every other request finds no responders, as while the home reconnects."""

    def __init__(self) -> None:
        self.requests = 0
        self.stats = {"reconnects": 0}

    async def request(self, subject: str, payload: bytes, *, timeout: float) -> object:
        self.requests += 1
        if self.requests % 2:
            raise NoRespondersError
        return object()


class _Reconnecting(_Flapping):
    """A connection that finds no responders because it has itself just reconnected (a restarted server)."""

    async def request(self, subject: str, payload: bytes, *, timeout: float) -> object:
        self.requests += 1
        if self.requests == 1:
            self.stats["reconnects"] += 1
        raise NoRespondersError


async def test_no_responders_once_between_answers_is_not_gone() -> None:
    connection = _Flapping()
    watch = HomeWatch(lambda: cast(NatsClient, connection), interval=0, timeout=0.1, settle=0)
    watching = asyncio.create_task(watch.until_gone(new_home()))
    await wait_until_async(lambda: connection.requests >= 20, timeout=30, what="twenty probes")
    assert not watching.done()
    watching.cancel()


async def test_one_probe_loop_per_home_however_many_runs_wait_on_it(broker: NatsBroker) -> None:
    home = new_home()
    watch = HomeWatch(lambda: broker.connection, interval=0.05, timeout=0.3, settle=0)
    await asyncio.wait_for(asyncio.gather(*(watch.until_gone(home) for _ in range(10))), timeout=30)
    assert watch.probes[home] == 2  # two "no responders" in a row, for all ten waiters


async def test_no_responders_right_after_the_watchers_own_reconnect_is_not_believed() -> None:
    connection = _Reconnecting()
    watch = HomeWatch(lambda: cast(NatsClient, connection), interval=0, timeout=0.1, settle=3600)
    watching = asyncio.create_task(watch.until_gone(new_home()))
    await wait_until_async(lambda: connection.requests >= 20, timeout=30, what="twenty probes")
    assert not watching.done()
    watching.cancel()


class _AnsweredThenClosed(_Flapping):
    """A home that answers `answers` times, then finds no responders: its process was killed."""

    def __init__(self, answers: int = 1) -> None:
        super().__init__()
        self.answers = answers

    async def request(self, subject: str, payload: bytes, *, timeout: float) -> object:
        self.requests += 1
        if self.requests <= self.answers:
            return object()
        raise NoRespondersError


class _AnsweredThenOwnReconnect(_AnsweredThenClosed):
    """The home answers once; then this process's own connection reconnects (a restarted server) and
    the home is not subscribed again yet."""

    async def request(self, subject: str, payload: bytes, *, timeout: float) -> object:
        if self.requests == self.answers:
            self.stats["reconnects"] += 1
        return await super().request(subject, payload, timeout=timeout)


async def test_within_the_settle_time_a_home_that_answered_on_this_connection_is_gone_once_it_stops() -> None:
    connection = _AnsweredThenClosed()
    watch = HomeWatch(lambda: cast(NatsClient, connection), interval=0, timeout=0.1, settle=3600)
    await asyncio.wait_for(watch.until_gone(new_home()), timeout=30)
    assert connection.requests == 3  # one answer, then two "no responders" in a row


async def test_a_home_that_answered_before_the_watchers_own_reconnect_is_not_taken_for_gone() -> None:
    connection = _AnsweredThenOwnReconnect()
    watch = HomeWatch(lambda: cast(NatsClient, connection), interval=0, timeout=0.1, settle=3600)
    watching = asyncio.create_task(watch.until_gone(new_home()))
    await wait_until_async(lambda: connection.requests >= 20, timeout=30, what="twenty probes")
    assert not watching.done()
    watching.cancel()


async def test_a_freshly_connected_watcher_sees_a_killed_process_gone_at_once(
    nats_server: NatsServer, broker: NatsBroker
) -> None:
    home = new_home()
    watch = HomeWatch(lambda: broker.connection, interval=0.1, timeout=0.3, settle=3600)
    with answering_process(nats_server.url, home) as killed:
        watching = asyncio.create_task(watch.until_gone(home))
        await wait_until_async(lambda: watch.probes.get(home, 0) >= 2, timeout=30, what="a probe answered")
        assert not watching.done()
        killed.kill()
        killed.wait()
        await asyncio.wait_for(watching, timeout=30)
