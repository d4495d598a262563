"""NATS down: the gateway answers webhooks 503 and records nothing, readiness says not ready, and
once NATS is back the poller publishes what was labeled meanwhile: one run and one PR per labeling."""

from __future__ import annotations

import asyncio
import itertools
import secrets

import asyncpg
import httpx
import pytest

from paid_devstack import wait_until
from paid_devstack.demo_repo import MAINTAINER, DemoIssue
from paid_devstack.sandbox import EmulatedPaid
from paid_github_emulator import DeliveryRecord

from .conftest import ADMIN_TOKEN
from .pipeline_state import build_requests, workflow_count

pytestmark = [pytest.mark.integration, pytest.mark.slow]
POLL_SECONDS = 2.0
_numbers = itertools.count(1)


def polled_project(paid: EmulatedPaid) -> DemoIssue:
    """A repository with webhooks on, registered as a project that the poller polls every 2 s."""
    issue = paid.create_repository("nats-outage", f"calculator-{next(_numbers)}")
    login = f"poller-{issue.repo}"
    token = f"ghp_{secrets.token_hex(16)}"
    paid.github.add_user(login, token)
    paid.github.set_permission(issue.owner, issue.repo, login, "write")  # Paid acts with this token
    response = httpx.post(
        f"{paid.platform.url('gateway')}/api/projects",
        json={"repository": _full(issue), "token": token, "poll_interval_seconds": POLL_SECONDS},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return issue


async def _fetch(paid: EmulatedPaid, query: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(paid.platform.infra.database_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


def last_event_handled(paid: EmulatedPaid, issue: DemoIssue) -> int | None:
    """The poller's cursor over the repository's issue events; None before its first poll."""
    rows = asyncio.run(
        _fetch(paid, "SELECT last_event_id FROM poller.poll_state WHERE repo = $1", _full(issue).lower())
    )
    return int(rows[0]["last_event_id"] or 0) if rows else None


def recorded_deliveries(paid: EmulatedPaid, guids: list[str]) -> list[str]:
    rows = asyncio.run(
        _fetch(paid, "SELECT delivery_id FROM gateway.webhook_deliveries WHERE delivery_id = ANY($1)", guids)
    )
    return [str(row["delivery_id"]) for row in rows]


def labeled_deliveries(paid: EmulatedPaid, issue: DemoIssue) -> list[DeliveryRecord]:
    found = paid.github.deliveries(event="issues", action="labeled")
    return [d for d in found if d.repo == _full(issue)]


def labeled_event_id(paid: EmulatedPaid, issue: DemoIssue) -> int:
    events = paid.github.issue_events(issue.owner, issue.repo)
    return max(int(e["id"]) for e in events if e["event"] == "labeled")


def ready(paid: EmulatedPaid, service: str) -> bool:
    try:
        return httpx.get(f"{paid.platform.url(service)}/readyz", timeout=3.0).status_code == 200
    except httpx.HTTPError:
        return False


def _full(issue: DemoIssue) -> str:
    return f"{issue.owner}/{issue.repo}"


def test_with_nats_down_webhooks_get_503_and_the_poller_catches_up_once_it_returns(
    paid: EmulatedPaid,
) -> None:
    issues = [polled_project(paid) for _ in range(2)]
    for issue in issues:
        wait_until(lambda i=issue: last_event_handled(paid, i) is not None, timeout=60, what="a first poll")
    nats_server = paid.platform.infra.nats
    assert nats_server is not None

    nats_server.kill()
    try:
        for service in ("gateway", "poller"):
            wait_until(lambda s=service: not ready(paid, s), timeout=30, what=f"{service} not ready")
        for issue in issues:
            paid.label(issue)
        for issue in issues:
            wait_until(lambda i=issue: bool(labeled_deliveries(paid, i)), timeout=30, what="the webhook")
        refused = [delivery for issue in issues for delivery in labeled_deliveries(paid, issue)]
        for delivery in refused:
            assert delivery.status_code == 503, (delivery.status_code, delivery.response_body)
            assert "event bus unavailable" in delivery.response_body
            retry_after = {k.lower(): v for k, v in delivery.response_headers.items()}.get("retry-after")
            assert retry_after is not None, delivery.response_headers
            assert int(retry_after) > 0, delivery.response_headers
        assert recorded_deliveries(paid, [d.guid for d in refused]) == [], "a refused delivery was recorded"
        assert all(paid.pulls(issue) == [] for issue in issues)
    finally:
        nats_server.start()

    wait_until(lambda: ready(paid, "gateway") and ready(paid, "poller"), timeout=60, what="ready again")
    for issue in issues:
        paid.wait_for_pull(issue, timeout=180)
        event_id = labeled_event_id(paid, issue)
        wait_until(
            lambda i=issue, e=event_id: (last_event_handled(paid, i) or 0) >= e,
            timeout=60,
            what="the poller handling the labeling",
        )
    for issue in issues:
        [request] = asyncio.run(build_requests(paid, issue))
        assert request["source"] == "poll", "the refused webhook must not have been published after all"
        assert request["actor"] == MAINTAINER
        assert asyncio.run(workflow_count(paid, issue)) == 1
        assert len(paid.pulls(issue)) == 1

    # GitHub's redelivery of a refused delivery, now that NATS is up, is accepted and still adds nothing.
    guid = labeled_deliveries(paid, issues[0])[0].guid
    paid.github.redeliver(guid)
    wait_until(
        lambda: any(d.guid == guid and d.succeeded for d in labeled_deliveries(paid, issues[0])),
        timeout=30,
        what="the redelivery to be accepted",
    )
    assert len(asyncio.run(build_requests(paid, issues[0]))) == 1
    assert asyncio.run(workflow_count(paid, issues[0])) == 1
    wait_until(lambda: recorded_deliveries(paid, [guid]) == [guid], timeout=30, what="the delivery recorded")
