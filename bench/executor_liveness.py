"""Executor process killed -> its home taken for gone, from the process's NATS connection (paid_executor
liveness), with the production probe settings; and how many live homes were taken for gone meanwhile.

Every home is an executor-like process holding its own NATS connection and answering for its home
queue. While `--kills` of them are SIGKILLed one after another (each watched from just before its kill),
`--live` others keep running under `--burners` busy-looping processes (CPU starvation) and `--stopped`
more are SIGSTOPped for the whole run: all of them are watched throughout. No starved home may be taken
for gone; a stopped one only once nats-server has dropped its connection for unanswered pings (after
2 to 4 minutes with its defaults), so the stop's length is printed beside the count.
This is the detection part of a failover only: the workflow does not act on it yet (the move of a run
still waits for the heartbeat and home-queue timeouts, `executor_failover.py`).
Prints `name value unit`.
Usage: bench/executor_liveness.py [--kills N] [--live N] [--stopped N] [--burners N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from paid_devstack.nats import NatsServer
from paid_executor.liveness import (
    CONFIRMATIONS,
    PROBE_INTERVAL_SECONDS,
    RECONNECT_SETTLE_SECONDS,
    HomeWatch,
    Liveness,
    probe,
)
from paid_runtime.messaging import make_broker

ANSWERING_PROCESS = """
import asyncio, sys
from paid_executor import liveness
from paid_runtime.messaging import make_broker

async def main() -> None:
    broker = make_broker(sys.argv[1], "executor-liveness-bench")
    answering = asyncio.create_task(liveness.answer_for(broker, sys.argv[2]))
    await broker.connect()
    await answering

asyncio.run(main())
"""
BURNER = "while True: pass"


def answering(nats_url: str) -> tuple[str, subprocess.Popen[bytes]]:
    home = f"executor-bench@host-{uuid.uuid4().hex[:8]}"
    return home, subprocess.Popen([sys.executable, "-c", ANSWERING_PROCESS, nats_url, home])


def starve(burners: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(burners)]


async def measure(args: argparse.Namespace, nats_url: str) -> None:
    broker = make_broker(nats_url, "executor-liveness-bench")
    await broker.connect()
    processes: list[subprocess.Popen[bytes]] = []

    async def started(count: int) -> list[str]:
        homes = []
        for _ in range(count):
            home, process = answering(nats_url)
            processes.append(process)
            homes.append(home)
        for home in homes:  # a fresh process needs its imports and connection first
            deadline = time.monotonic() + 120
            while await probe(broker.connection, home, timeout=5) is not Liveness.ALIVE:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{home} never answered")
                await asyncio.sleep(0.05)
        return homes

    watch = HomeWatch(lambda: broker.connection)
    try:
        stopped = await started(args.stopped)
        for process in processes:
            os.kill(process.pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        live = await started(args.live)
        processes += starve(args.burners)
        watched = {home: asyncio.create_task(watch.until_gone(home)) for home in stopped + live}
        await asyncio.sleep(RECONNECT_SETTLE_SECONDS)  # this process's watch believes none sooner
        detected: list[float] = []
        for _ in range(args.kills):
            [home] = await started(1)
            victim = processes[-1]
            gone = asyncio.create_task(watch.until_gone(home))
            # Killed at any moment of the probe's cycle, as in life: one probe may meet the dying process.
            await asyncio.sleep(PROBE_INTERVAL_SECONDS * random.uniform(1, 3))
            killed = time.monotonic()
            victim.kill()
            await gone
            detected.append(time.monotonic() - killed)
            victim.wait()
        stopped_for = time.monotonic() - stopped_at
        gone_live = sum(watched[home].done() for home in live)
        gone_stopped = sum(watched[home].done() for home in stopped)
        for task in watched.values():
            task.cancel()
    finally:
        for process in processes:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait()
        await broker.stop()
    load = os.getloadavg()[0]
    print(f"executor_liveness_probe_interval {PROBE_INTERVAL_SECONDS:g} s")
    print(f"executor_liveness_confirmations {CONFIRMATIONS} count")
    print(f"executor_killed_to_home_gone_p50 {statistics.median(detected) * 1000:.0f} ms")
    print(f"executor_killed_to_home_gone_max {max(detected) * 1000:.0f} ms")
    print(f"executor_liveness_starved_homes {len(live)} count")
    print(f"executor_liveness_starved_taken_for_gone {gone_live} count")
    print(f"executor_liveness_stopped_homes {len(stopped)} count")
    # nats-server closes a connection whose pings go unanswered (2 min x 2 by default): a process
    # stopped that long is gone by design (liveness.py); a shorter stop must count 0 here.
    print(f"executor_liveness_stopped_seconds {stopped_for:.0f} s")
    print(f"executor_liveness_stopped_taken_for_gone {gone_stopped} count")
    print(f"executor_liveness_load_1m {load:.1f} load")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--live", type=int, default=5)
    parser.add_argument("--stopped", type=int, default=3)
    parser.add_argument("--burners", type=int, default=2 * (os.cpu_count() or 1))
    args = parser.parse_args()
    with NatsServer(Path(tempfile.mkdtemp(prefix="paid-bench-liveness-")), sync_always=False) as server:
        asyncio.run(measure(args, server.url))


if __name__ == "__main__":
    main()
