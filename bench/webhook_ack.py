"""Webhook ack latency of the real gateway under a steady load of valid, signed deliveries.

A `paid-gateway` process (with JetStream, PostgreSQL and the GitHub emulator for its permission
checks) receives `issues.labeled` deliveries at a fixed rate, open loop: each is sent at its slot
whatever the previous ones did. Every delivery is a distinct labeling by the repository's owner, so
each is verified, deduplicated, checked for trust (cached), published and recorded. `not_accepted`:
deliveries not answered 2xx in time (GitHub would show them failed and they can be redelivered);
`lost`: deliveries whose event never reached the stream.

Prints `name value unit` lines. Usage: bench/webhook_ack.py [--rate 300] [--seconds 60] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import nats

from paid_devstack import wait_until
from paid_devstack.nats import NatsServer
from paid_devstack.ports import free_port
from paid_devstack.postgres import EmbeddedPostgres
from paid_github_emulator import GitHubEmulator

SECRET = "bench-webhook-secret"  # noqa: S105
OWNER, REPO, TOKEN = "bench-org", "hooks", "ghp_bench_gateway"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def delivery(number: int) -> tuple[bytes, dict[str, str]]:
    payload = {
        "action": "labeled",
        "issue": {"number": number, "updated_at": "2026-01-01T00:00:00Z"},
        "label": {"name": "paid-build"},
        "repository": {
            "name": REPO,
            "full_name": f"{OWNER}/{REPO}",
            "owner": {"login": OWNER},
            "clone_url": f"https://github.com/{OWNER}/{REPO}.git",
        },
        "sender": {"login": OWNER, "type": "User"},
    }
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
    return body, headers


async def stream_messages(nats_url: str) -> int:
    connection = await nats.connect(nats_url)
    try:
        info = await connection.jetstream().stream_info("PAID_GITHUB")
        return int(info.state.messages)
    finally:
        await connection.close()


async def load(url: str, rate: float, seconds: float) -> tuple[list[float], int, float]:
    count = int(rate * seconds)
    deliveries = [delivery(number) for number in range(1, count + 1)]
    latencies_ms: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:

        async def send(body: bytes, headers: dict[str, str]) -> None:
            nonlocal failures
            sent = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers=headers)
                ok = 200 <= response.status_code < 300 and response.json().get("accepted") is True
            except httpx.HTTPError:
                ok = False
            latencies_ms.append((time.perf_counter() - sent) * 1000)
            failures += not ok

        # One warm-up delivery: connections, the permission check (then cached), database pool.
        await send(*delivery(count + 1))
        latencies_ms.clear()
        started = time.perf_counter()
        tasks = []
        for index, (body, headers) in enumerate(deliveries):
            slot = started + index / rate
            if (wait := slot - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(send(body, headers)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    return latencies_ms, failures, count / elapsed


def main() -> None:
    # Interrupted (timeout, Ctrl-C): unwind, so the servers started here are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="10 s instead of 60 s")
    args = parser.parse_args()
    seconds = 10.0 if args.quick else args.seconds
    home = Path(tempfile.mkdtemp(prefix="paid-bench-webhook-"))
    port = free_port()
    try:
        with (
            GitHubEmulator(home / "github") as github,
            EmbeddedPostgres(home / "pg") as pg,
            NatsServer(home / "nats") as nats_server,
        ):
            github.add_user(OWNER, TOKEN)
            github.create_repository(OWNER, REPO)
            env = {
                **os.environ,
                "PAID_GATEWAY_HTTP_PORT": str(port),
                "PAID_GATEWAY_NATS_URL": nats_server.url,
                "PAID_GATEWAY_DATABASE_URL": pg.url,
                "PAID_GATEWAY_WEBHOOK_SECRETS": json.dumps([SECRET]),
                "PAID_GATEWAY_GITHUB_API_URL": github.api_url,
                "PAID_GATEWAY_GITHUB_TOKEN": TOKEN,
                "PAID_GATEWAY_LOG_LEVEL": "WARNING",
            }
            with (home / "gateway.log").open("wb") as log:
                gateway = subprocess.Popen(
                    [Path(sys.executable).parent / "paid-gateway"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                try:
                    base = f"http://127.0.0.1:{port}"
                    wait_until(lambda: _ready(f"{base}/readyz"), timeout=60, what="the gateway")
                    before = asyncio.run(stream_messages(nats_server.url))
                    latencies, failures, achieved = asyncio.run(
                        load(f"{base}/webhooks/github", args.rate, seconds)
                    )
                    published = (
                        asyncio.run(stream_messages(nats_server.url)) - before - 1
                    )  # minus the warm-up
                finally:
                    gateway.terminate()
                    gateway.wait(timeout=30)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    sent = len(latencies)
    lost = max(sent - published, 0)
    print(f"webhook_ack_requests {sent} requests")
    print(f"webhook_ack_rate_achieved {achieved:.0f} requests/s")
    print(f"webhook_ack_p50 {percentile(latencies, 0.50):.1f} ms")
    print(f"webhook_ack_p99 {percentile(latencies, 0.99):.1f} ms")
    print(f"webhook_ack_max {max(latencies):.1f} ms")
    print(f"webhook_ack_not_accepted {failures} requests")
    print(f"webhook_ack_lost {lost} requests")


def settled(nats_url: str) -> int:
    """The stream's message count once it stopped growing (requests the client gave up on may still
    be completing in the gateway)."""
    last, stable_since = -1, time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        count = asyncio.run(stream_messages(nats_url))
        if count != last:
            last, stable_since = count, time.monotonic()
        elif time.monotonic() - stable_since > 3:
            break
        time.sleep(0.5)
    return last


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
