"""Agent output line published on NATS -> the line arrives on the gateway's live stream (SSE), p50/p95.

Runs the gateway as a process on the real servers (NATS JetStream, PostgreSQL, Temporal), publishes
`RunOutputAppended` batches as the executor does and follows `GET /api/runs/{id}/output/stream`.
Prints `name value unit` lines. Usage: bench/live_tail_latency.py [--lines N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from paid_contracts import IssueRef, RepoRef, RunOutputAppended, RunStarted
from paid_devstack.sandbox import EmulatedPaid
from paid_runtime.messaging import ensure_streams, make_broker, publish_event

TOKEN = f"paid_{secrets.token_urlsafe(32)}"  # the gateway's bootstrap admin token for this run


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


async def measure(paid: EmulatedPaid, lines: int) -> list[float]:
    broker = make_broker(paid.platform.infra.nats_admin_url, "bench")
    await broker.connect()
    await ensure_streams(broker)
    issue = IssueRef(repo=RepoRef(owner="bench", name=f"tail-{uuid.uuid4().hex[:6]}"), number=1)
    run_id, workflow_id = str(uuid.uuid4()), f"exec:{issue.key}"
    common = {"producer": "bench", "run_id": run_id, "workflow_id": workflow_id, "issue": issue}
    await publish_event(broker, RunStarted(**common, agent="bench", prompt_version="bench"))
    base = paid.platform.url("gateway")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for _ in range(300):  # the projection has the run once the stream answers 200
            if (await client.get(f"/api/runs/{run_id}")).status_code == 200:
                break
            await asyncio.sleep(0.05)
        sent: dict[str, float] = {}
        latencies: list[float] = []
        async with client.stream("GET", f"/api/runs/{run_id}/output/stream") as stream:
            lines_iter = stream.aiter_lines()
            for sequence in range(lines):
                text = f"line {sequence}"
                sent[text] = time.perf_counter()
                event = RunOutputAppended(**common, attempt=1, sequence=sequence, lines=(text,))
                await publish_event(broker, event)
                while True:
                    line = await anext(lines_iter)
                    if line.startswith("data: ["):  # an `output` event: a list of lines
                        for item in json.loads(line.removeprefix("data: ")):
                            latencies.append(time.perf_counter() - sent[item["text"]])
                        break
    await broker.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="paid-bench-"))
    service_env = {"gateway": {"PAID_GATEWAY_ADMIN_TOKEN": TOKEN}}
    with EmulatedPaid(home, service_env=service_env, services=("gateway",)) as paid:
        latencies = asyncio.run(measure(paid, args.lines))
    ms = [value * 1000 for value in latencies]
    print(f"live_tail_latency_p50 {statistics.median(ms):.1f} ms")
    print(f"live_tail_latency_p95 {percentile(ms, 0.95):.1f} ms")
    print(f"live_tail_lines {len(ms)} lines")


if __name__ == "__main__":
    main()
