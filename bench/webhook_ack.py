"""Webhook ack latency of the real gateway under a steady, open-loop load of valid, signed deliveries.

A `paid-gateway` process (with JetStream on `sync_interval: always`, PostgreSQL and the GitHub
emulator for its permission checks) receives `issues.labeled` deliveries at a fixed rate; each is
sent at its slot whatever the previous ones did (`webhook_load.py`). Every delivery is a distinct
labeling by the repository's owner, so each is verified, deduplicated, checked for trust (cached),
published and recorded.

Figures: the achieved send rate and the accepted rate; ack latency p50/p99/max of the accepted
deliveries, counted from each one's slot; `shed`: answered 503 at once (the gateway's in-flight
limit; GitHub shows them failed and the poller covers them); `not_accepted`: any other answer or no
answer within GitHub's 10 s; `lost`: acknowledged 2xx but the event is not on the stream;
`duplicated`: events on the stream more than once; the gateway's CPU time per request.

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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
from webhook_load import LoadResult, OpenLoopClient, http_request, percentile

from paid_devstack import wait_until
from paid_devstack.nats import NatsServer
from paid_devstack.ports import free_port
from paid_devstack.postgres import EmbeddedPostgres
from paid_github_emulator import GitHubEmulator

SECRET = "bench-webhook-secret"  # noqa: S105
OWNER, REPO, TOKEN = "bench-org", "hooks", "ghp_bench_gateway"
PATH = "/webhooks/github"
STREAM = "PAID_GITHUB"


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


async def stream_last_sequence(nats_url: str) -> int:
    connection = await nats.connect(nats_url)
    try:
        info = await connection.jetstream().stream_info(STREAM)
        return int(info.state.last_seq)
    finally:
        await connection.close()


async def stream_event_ids(nats_url: str, after: int) -> Counter[str]:
    """How often each event id is on the stream after sequence `after`."""
    connection = await nats.connect(nats_url)
    ids: Counter[str] = Counter()
    try:
        js = connection.jetstream()
        last = int((await js.stream_info(STREAM)).state.last_seq)
        if last <= after:
            return ids
        subscription = await js.subscribe(
            "paid.github.>", stream=STREAM, ordered_consumer=True, config=_start_at(after + 1)
        )
        seen = after
        while seen < last:
            message = await subscription.next_msg(timeout=10)
            seen = message.metadata.sequence.stream
            ids[json.loads(message.data)["event_id"]] += 1
        await subscription.unsubscribe()
    finally:
        await connection.close()
    return ids


def _start_at(sequence: int) -> nats.js.api.ConsumerConfig:
    return nats.js.api.ConsumerConfig(
        deliver_policy=nats.js.api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=sequence
    )


async def settled(nats_url: str, timeout: float = 60) -> int:
    """The stream's last sequence once it stopped growing (answers the client gave up on may still be
    completing in the gateway)."""
    last, stable_since = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = await stream_last_sequence(nats_url)
        if current != last:
            last, stable_since = current, time.monotonic()
        elif time.monotonic() - stable_since > 2:
            break
        await asyncio.sleep(0.5)
    return last


@dataclass
class Measurement:
    result: LoadResult
    gateway_cpu_seconds: float
    on_stream: Counter[str]


async def measure(port: int, gateway_pid: int, nats_url: str, rate: float, count: int) -> Measurement:
    """One second of warm-up at `rate` (connections, the permission check, then cached, the database
    pool), then `count` deliveries at `rate`, measured."""
    warm_up = [_request(port, number) for number in range(count + 1, count + 1 + int(rate))]
    requests = [_request(port, number) for number in range(1, count + 1)]
    client = OpenLoopClient("127.0.0.1", port)
    try:
        await client.run(warm_up, rate)
        before = await settled(nats_url)
        cpu_before = cpu_seconds(gateway_pid)
        result = await client.run(requests, rate)
        cpu_used = cpu_seconds(gateway_pid) - cpu_before
    finally:
        client.close()
    await settled(nats_url)
    return Measurement(result, cpu_used, await stream_event_ids(nats_url, before))


def _request(port: int, number: int) -> bytes:
    body, headers = delivery(number)
    return http_request("127.0.0.1", port, PATH, headers, body)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    # Interrupted (timeout, Ctrl-C): unwind, so the servers started here are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="10 s instead of --seconds")
    parser.add_argument("--keep", action="store_true", help="keep the servers' directory (logs)")
    parser.add_argument("--timeline", type=Path, help="write slot,status,latency_ms per request (CSV)")
    parser.add_argument("--gateway-env", action="append", default=[], help="NAME=VALUE for the gateway")
    args = parser.parse_args()
    seconds = 10.0 if args.quick else args.seconds
    home = Path(tempfile.mkdtemp(prefix="paid-bench-webhook-"))
    port = free_port()
    count = int(args.rate * seconds)
    try:
        with (
            GitHubEmulator(home / "github") as github,
            EmbeddedPostgres(home / "pg") as pg,
            NatsServer(home / "nats") as nats_server,
        ):
            github.add_user(OWNER, TOKEN)
            github.create_repository(OWNER, REPO)
            nats_server.provision_streams()  # the gateway waits for its streams
            env = {
                **os.environ,
                "PAID_GATEWAY_HTTP_PORT": str(port),
                "PAID_GATEWAY_NATS_URL": nats_server.url,
                "PAID_GATEWAY_DATABASE_URL": pg.url,
                "PAID_GATEWAY_WEBHOOK_SECRETS": json.dumps([SECRET]),
                "PAID_GATEWAY_GITHUB_API_URL": github.api_url,
                "PAID_GATEWAY_GITHUB_TOKEN": TOKEN,
                "PAID_GATEWAY_LOG_LEVEL": "WARNING",
                **dict(item.split("=", 1) for item in args.gateway_env),
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
                    measured = asyncio.run(measure(port, gateway.pid, nats_server.url, args.rate, count))
                finally:
                    gateway.terminate()
                    gateway.wait(timeout=30)
    finally:
        if args.keep:
            print(f"# kept {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)

    result, on_stream = measured.result, measured.on_stream
    if args.timeline:
        ordered = sorted(result.outcomes, key=lambda outcome: outcome.slot_seconds)
        lines = [f"{o.slot_seconds:.4f},{o.status},{o.latency_ms:.2f}" for o in ordered]
        args.timeline.write_text("slot_seconds,status,latency_ms\n" + "\n".join(lines) + "\n")
    accepted_ids = result.accepted_event_ids()
    accepted = result.with_status(200, 299)
    latencies = [outcome.latency_ms for outcome in accepted]
    shed = result.with_status(503, 503)
    sent = len(result.outcomes)
    print(f"webhook_ack_requests {sent} requests")
    print(f"webhook_ack_rate_achieved {sent / result.elapsed_seconds:.0f} requests/s")
    print(f"webhook_ack_accepted_rate {len(accepted) / result.elapsed_seconds:.0f} requests/s")
    print(f"webhook_ack_p50 {percentile(latencies, 0.50):.1f} ms")
    print(f"webhook_ack_p99 {percentile(latencies, 0.99):.1f} ms")
    print(f"webhook_ack_max {max(latencies, default=0):.1f} ms")
    print(f"webhook_ack_shed {len(shed)} requests")
    print(f"webhook_ack_shed_p99 {percentile([o.latency_ms for o in shed], 0.99):.1f} ms")
    print(f"webhook_ack_not_accepted {sent - len(accepted) - len(shed)} requests")
    print(f"webhook_ack_lost {sum(1 for event_id in accepted_ids if event_id not in on_stream)} requests")
    print(f"webhook_ack_duplicated {sum(n - 1 for n in on_stream.values())} events")
    print(f"webhook_ack_gateway_cpu {measured.gateway_cpu_seconds * 1000 / max(sent, 1):.2f} ms/request")
    print(f"webhook_ack_generator_lag_p99 {percentile(result.send_lag_ms, 0.99):.1f} ms")


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
