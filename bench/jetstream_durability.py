#!/usr/bin/env python3
"""The durability trade-off, priced: a JetStream publish acknowledged after an fsync of every write
(`sync_interval: always`, Paid's default) against nats-server's default (the write reaches the page
cache and is fsynced every two minutes: acknowledged events can be lost when the machine crashes or
loses power, as Jepsen's 2025 analysis showed). Two servers in one run, one of each; the publishes
alternate between them (always, default, default, always, ...) so the machine's drift falls on both,
and each pair's difference is taken. Then a burst with many publishes in flight on each, in turn.

An operator who accepts the loss window sets `jetstream { sync_interval: ... }` in nats-server's own
configuration; Paid itself never relaxes it.
Prints `name value unit` lines. Usage: bench/jetstream_durability.py [--pairs N] [--burst N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import nats
from nats.js import JetStreamContext
from nats.js.api import StorageType

from paid_devstack.nats import NatsServer

PAYLOAD = b"x" * 512  # about one event's JSON
IN_FLIGHT = 64


async def stream_on(url: str) -> tuple[nats.NATS, JetStreamContext]:
    connection = await nats.connect(url)
    js = connection.jetstream()
    await js.add_stream(name="DURABILITY", subjects=["durability.>"], storage=StorageType.FILE)
    return connection, js


async def publish_ms(js: JetStreamContext, n: int) -> float:
    began = time.perf_counter()
    await js.publish(f"durability.{n}", PAYLOAD)
    return (time.perf_counter() - began) * 1000


async def burst_rate(js: JetStreamContext, count: int) -> float:
    """Publishes per second with IN_FLIGHT acknowledgements awaited at once."""
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(n: int) -> None:
        async with slots:
            await js.publish(f"durability.burst.{n}", PAYLOAD)

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(count)))
    return count / (time.perf_counter() - began)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


async def measure(always_url: str, default_url: str, pairs: int, burst: int) -> None:
    (always_nc, always), (default_nc, default) = await stream_on(always_url), await stream_on(default_url)
    try:
        latencies: dict[str, list[float]] = {"always": [], "default": []}
        saved: list[float] = []
        for i in range(pairs + 10):  # the first ten pairs warm both up and are not counted
            order = ("always", "default") if i % 2 == 0 else ("default", "always")
            pair = {}
            for name in order:
                pair[name] = await publish_ms(always if name == "always" else default, i)
            if i >= 10:
                for name, value in pair.items():
                    latencies[name].append(value)
                saved.append(pair["always"] - pair["default"])
        rates = {"always": await burst_rate(always, burst), "default": await burst_rate(default, burst)}
    finally:
        await always_nc.close()
        await default_nc.close()
    print(f"jetstream_durability_pairs {pairs} pairs")
    for name, values in latencies.items():
        print(f"jetstream_publish_p50{{sync={name}}} {statistics.median(values):.2f} ms")
        print(f"jetstream_publish_p99{{sync={name}}} {p99(values):.2f} ms")
    print(f"jetstream_publish_fsync_cost_paired_p50 {statistics.median(saved):.2f} ms")
    for name, rate in rates.items():
        print(f"jetstream_publish_rate{{sync={name},in_flight={IN_FLIGHT}}} {rate:.0f} msg/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--burst", type=int, default=5000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="paid-bench-durability-") as home,
        NatsServer(Path(home) / "always", sync_always=True) as always,
        NatsServer(Path(home) / "default", sync_always=False) as default,
    ):
        asyncio.run(measure(always.url, default.url, args.pairs, args.burst))


if __name__ == "__main__":
    main()
