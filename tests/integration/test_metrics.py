"""Every service's /metrics is valid Prometheus text, and the figures on a run's path move with it."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from paid_devstack import wait_until
from paid_devstack.demo_repo import DemoIssue
from paid_devstack.platform import SERVICES
from paid_devstack.sandbox import EmulatedPaid

from .pipeline_state import running_executions

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(paid: EmulatedPaid, service: str) -> Samples:
    response = httpx.get(f"{paid.platform.url(service)}/metrics", timeout=5.0)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):  # raises on invalid exposition text
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def test_metrics_are_valid_and_move_when_a_run_happens(paid: EmulatedPaid, issue: DemoIssue) -> None:
    # The counters are the stack's: a run another test left going would move them during this one.
    wait_until(lambda: asyncio.run(running_executions(paid)) == 0, timeout=300, what="earlier runs to end")
    before = {service: scrape(paid, service) for service in SERVICES}
    paid.label(issue)
    paid.wait_for_pull(issue)
    paid.wait_for_result_comment(issue)
    after = {service: scrape(paid, service) for service in SERVICES}

    gateway_received = "paid_gateway_webhook_deliveries_total"
    assert value(after["gateway"], gateway_received) > value(before["gateway"], gateway_received)
    published = "faststream_published_messages_total"
    assert value(after["gateway"], published) > value(before["gateway"], published)

    finished = "paid_runs_finished_total"
    assert value(after["executor"], finished, outcome="succeeded") == (
        value(before["executor"], finished, outcome="succeeded") + 1
    )
    assert value(after["executor"], "paid_run_duration_seconds_count") > value(
        before["executor"], "paid_run_duration_seconds_count"
    )
    assert value(after["executor"], "paid_github_rate_limit_remaining") > 0
    received = "faststream_received_messages_total"
    assert value(after["executor"], received) > value(before["executor"], received)
    assert any(name.startswith("temporal_") for name, _ in after["executor"]), "Temporal worker figures"
    assert any(name == "temporal_worker_task_slots_available" for name, _ in after["executor"])

    assert value(after["evolution"], received) > value(before["evolution"], received)
    for service in ("planner", "poller"):
        assert after[service], f"{service} exports figures"
