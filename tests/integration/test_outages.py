"""Outages of the servers every service depends on: work waits, nothing is lost, services recover."""

from __future__ import annotations

import asyncio

import httpx
import nats
import pytest

from paid_devstack import wait_until
from paid_devstack.demo_repo import CALC_FIXED, DemoIssue
from paid_devstack.sandbox import EmulatedPaid
from paid_github_emulator import DeliveryRecord

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BUILD_CONSUMER = ("PAID_GITHUB", "executor-build-requested")


def redelivered(paid: EmulatedPaid, stream: str, consumer: str) -> int:
    async def count() -> int:
        connection = await nats.connect(paid.platform.infra.nats_admin_url)
        try:
            info = await connection.jetstream().consumer_info(stream, consumer)
            return int(info.num_redelivered)
        finally:
            await connection.close()

    return asyncio.run(count())


def labeled(paid: EmulatedPaid, issue: DemoIssue) -> list[DeliveryRecord]:
    full_name = f"{issue.owner}/{issue.repo}"
    return [d for d in paid.github.deliveries(event="issues", action="labeled") if d.repo == full_name]


def ready(paid: EmulatedPaid, service: str) -> bool:
    return httpx.get(f"{paid.platform.url(service)}/readyz", timeout=2.0).status_code == 200


# Heavy: the chaos short form kills Temporal in the default run.
@pytest.mark.heavy
def test_with_temporal_down_the_request_stays_unacked_and_the_run_happens_when_it_returns(
    paid: EmulatedPaid, issue: DemoIssue
) -> None:
    temporal = paid.platform.infra.temporal
    assert temporal is not None
    before = redelivered(paid, *BUILD_CONSUMER)
    temporal.kill()
    try:
        paid.label(issue)
        wait_until(lambda: bool(labeled(paid, issue)), timeout=30, what="the labeled webhook")
        [delivery] = labeled(paid, issue)
        assert delivery.succeeded, "the gateway does not need Temporal to accept the webhook"
        wait_until(
            lambda: redelivered(paid, *BUILD_CONSUMER) > before,
            timeout=60,
            what="the executor to fail starting the workflow and leave the event for redelivery",
        )
        assert paid.pulls(issue) == []
    finally:
        temporal.start()
    pull = paid.wait_for_pull(issue, timeout=120)
    assert paid.github.file_content(issue.owner, issue.repo, "calc.py", ref=pull["head"]["ref"]) == CALC_FIXED
    assert len(paid.pulls(issue)) == 1


@pytest.mark.parametrize("service", ["gateway", "executor", "evolution", "planner", "poller"])
def test_with_postgres_down_services_report_not_ready_and_recover(paid: EmulatedPaid, service: str) -> None:
    postgres = paid.platform.infra.postgres
    assert postgres is not None
    wait_until(lambda: ready(paid, service), timeout=30, what=f"{service} ready before the outage")
    postgres.kill()
    try:
        wait_until(lambda: not ready(paid, service), timeout=30, what=f"{service} to report not ready")
    finally:
        postgres.start()
    wait_until(lambda: ready(paid, service), timeout=60, what=f"{service} ready again")
