"""The Prometheus figures Paid's services export on /metrics, beyond what each service adds itself.

- runs: by outcome, duration, iterations, tokens and cost (recorded by the service that finishes runs);
- queue lag per durable consumer (pending and unacknowledged messages), polled from JetStream;
- GitHub's rate limit remaining, read from the headers of every GitHub response;
- Temporal worker slots and the SDK's own figures, served by the Temporal core on a loopback port and
  appended to the service's /metrics (see `temporal_metrics_text`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from nats.aio.client import Client as NATS
from prometheus_client import Counter, Gauge, Histogram

from paid_contracts import RunFinished

log = logging.getLogger(__name__)

RUNS_FINISHED = Counter("paid_runs_finished", "Runs finished, by outcome and agent", ["outcome", "agent"])
RUN_DURATION = Histogram(
    "paid_run_duration_seconds",
    "Wall time of a run, start to finish",
    ["outcome"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600),
)
RUN_ITERATIONS = Histogram(
    "paid_run_iterations", "Fix-forward iterations a run used", buckets=(0, 1, 2, 3, 5, 8, 13, 21)
)
RUN_TOKENS = Counter("paid_run_tokens", "LLM tokens used by runs", ["direction"])
RUN_COST = Counter("paid_run_cost_usd", "LLM cost of runs in US dollars")

CONSUMER_PENDING = Gauge(
    "paid_consumer_pending_messages", "Messages not yet delivered to a durable consumer", ["consumer"]
)
CONSUMER_ACK_PENDING = Gauge(
    "paid_consumer_ack_pending_messages", "Messages delivered and not yet acknowledged", ["consumer"]
)
GITHUB_RATE_REMAINING = Gauge(
    "paid_github_rate_limit_remaining", "GitHub rate-limit points left, from the last response", ["resource"]
)
GITHUB_RATE_LIMIT = Gauge("paid_github_rate_limit", "GitHub rate-limit points per window", ["resource"])


def record_run_finished(event: RunFinished) -> None:
    RUNS_FINISHED.labels(outcome=event.outcome.value, agent=event.agent).inc()
    RUN_DURATION.labels(outcome=event.outcome.value).observe(event.duration_seconds)
    RUN_ITERATIONS.observe(event.iterations)
    if event.input_tokens:
        RUN_TOKENS.labels(direction="input").inc(event.input_tokens)
    if event.output_tokens:
        RUN_TOKENS.labels(direction="output").inc(event.output_tokens)
    if event.cost_usd:
        RUN_COST.inc(event.cost_usd)


def observe_github_response(response: httpx.Response) -> None:
    """An httpx response hook: pass it to githubkit as `event_hooks={"response": [...]}`."""
    remaining = response.headers.get("x-ratelimit-remaining")
    if remaining is None:
        return
    resource = response.headers.get("x-ratelimit-resource", "core")
    GITHUB_RATE_REMAINING.labels(resource=resource).set(float(remaining))
    if limit := response.headers.get("x-ratelimit-limit"):
        GITHUB_RATE_LIMIT.labels(resource=resource).set(float(limit))


async def observe_github_response_async(response: httpx.Response) -> None:
    observe_github_response(response)


@dataclass(frozen=True)
class ConsumerRef:
    stream: str
    durable: str


DURABLE_CONSUMERS: set[ConsumerRef] = set()
"""Filled by `durable_subscriber`: the consumers whose lag this process reports."""


async def poll_consumer_lag(connection_of: Callable[[], NATS | None], *, interval: float = 5.0) -> None:
    """Forever: every `interval` seconds, set the lag gauges of every registered durable consumer."""
    while True:
        connection = connection_of()
        if connection is not None and connection.is_connected:
            js = connection.jetstream()
            for consumer in list(DURABLE_CONSUMERS):
                try:
                    info = await js.consumer_info(consumer.stream, consumer.durable)
                except Exception as error:  # a consumer not created yet, or NATS away for a moment
                    log.debug("no lag for %s: %s", consumer.durable, error)
                    continue
                CONSUMER_PENDING.labels(consumer=consumer.durable).set(info.num_pending or 0)
                CONSUMER_ACK_PENDING.labels(consumer=consumer.durable).set(info.num_ack_pending or 0)
        await asyncio.sleep(interval)  # a sampling period, not a wait for a condition
