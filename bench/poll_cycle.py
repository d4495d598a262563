"""A poll cycle over many unchanged repositories: wall time and GitHub rate-limit points.

The poller's real activity (`poll_repository`) reads each repository's Issue Events and comments with
the ETags of the previous cycle, against the GitHub emulator in its own process (which answers 304
without charging, as GitHub does), with PostgreSQL for the cursors and JetStream for publishing. The
first cycle sets the baseline (full reads); the second is measured: nothing changed, every read is a 304.

Prints `name value unit` lines. Usage: bench/poll_cycle.py [--repos 500] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from paid_devstack import wait_until
from paid_devstack.nats import NatsServer
from paid_devstack.ports import free_port
from paid_devstack.postgres import EmbeddedPostgres
from paid_poller.activities import PollerActivities
from paid_poller.github import http_factory
from paid_poller.main import MIGRATIONS
from paid_poller.params import PollRepositoryInput, PollResult
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.messaging import ensure_streams, make_broker, publish_event
from paid_runtime.secretbox import SecretBox, generate_key

OWNER, TOKEN = "bench-org", "ghp_bench_poller"


class EmulatorProcess:
    """The GitHub emulator in a process of its own, met over the network as GitHub would be."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.base}/api/v3"
        argv = [str(Path(sys.executable).parent / "paid-github-emulator"), "--port", str(self.port)]
        argv += ["--data-dir", str(data_dir), "--user", f"{OWNER}:{TOKEN}"]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._healthy, timeout=30, what="the GitHub emulator")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/_emulator/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def seed(self, repos: int) -> None:
        with httpx.Client(base_url=f"{self.base}/_emulator", timeout=30) as admin:
            for i in range(repos):
                admin.post("/repos", json={"owner": OWNER, "name": f"repo-{i}"}).raise_for_status()
                issue = {"title": "an issue", "as_user": OWNER}
                admin.post(f"/repos/{OWNER}/repo-{i}/issues", json=issue).raise_for_status()

    def points_used(self) -> int:
        counters = httpx.get(f"{self.base}/_emulator/rate-limits", timeout=10).json()
        return int(counters.get(TOKEN, {}).get("used", 0))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def cycle(
    activities: PollerActivities, targets: list[PollRepositoryInput], concurrency: int
) -> list[PollResult]:
    gate = asyncio.Semaphore(concurrency)

    async def one(target: PollRepositoryInput) -> PollResult:
        async with gate:
            return await activities.poll_repository(target)

    return await asyncio.gather(*(one(target) for target in targets))


async def measure(
    emu: EmulatorProcess, database_url: str, nats_url: str, repos: int, concurrency: int
) -> None:
    engine = make_engine(database_url, pool_size=concurrency)
    await migrate(engine, schema="poller", migrations_dir=MIGRATIONS)
    broker = make_broker(nats_url, "bench")
    await broker.connect()
    await ensure_streams(broker)
    activities = PollerActivities(
        sessions=session_factory(engine),
        http=http_factory(emu.api_url),
        publish=functools.partial(publish_event, broker),
        box=SecretBox([generate_key()]),
        default_token=TOKEN,
    )
    targets = [PollRepositoryInput(owner=OWNER, name=f"repo-{i}") for i in range(repos)]
    try:
        started = time.perf_counter()
        await cycle(activities, targets, concurrency)
        first_wall = time.perf_counter() - started
        first_points = emu.points_used()

        started = time.perf_counter()
        results = await cycle(activities, targets, concurrency)
        wall = time.perf_counter() - started
        points = emu.points_used() - first_points
    finally:
        await broker.stop()
        await engine.dispose()
    unchanged = sum(1 for result in results if result.not_modified)
    print(f"poll_cycle_repos {repos} repos")
    print(f"poll_cycle_first_wall {first_wall:.2f} s")
    print(f"poll_cycle_first_rate_limit_points {first_points} points")
    print(f"poll_cycle_unchanged_wall {wall:.2f} s")
    print(f"poll_cycle_unchanged_per_repo {wall / repos * 1000:.1f} ms")
    print(f"poll_cycle_unchanged_rate_limit_points {points} points")
    print(f"poll_cycle_unchanged_repos_answered_304 {unchanged} repos")


def main() -> None:
    # Interrupted (timeout, Ctrl-C): unwind, so the servers started here are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="paid-bench-poll-"))
    emu = EmulatorProcess(home / "github")
    try:
        emu.seed(args.repos)
        with EmbeddedPostgres(home / "pg") as pg, NatsServer(home / "nats", sync_always=False) as nats_server:
            asyncio.run(measure(emu, pg.url, nats_server.url, args.repos, args.concurrency))
    finally:
        emu.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
