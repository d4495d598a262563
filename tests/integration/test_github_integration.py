"""The GitHub integration on the whole platform: polling instead of (or beside) webhooks, rate limits,
trusted triggers. Projects are registered through the gateway's API, each with its own token, so the
emulator's counters show exactly what the poller spent."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from paid_devstack import wait_until
from paid_devstack.demo_repo import MAINTAINER, DemoIssue
from paid_devstack.sandbox import EmulatedPaid
from paid_runtime.github_trust import MARKER_PREFIX

from .conftest import ADMIN_TOKEN
from .pipeline_state import build_requests, workflow_count

pytestmark = pytest.mark.integration
POLL_SECONDS = 2.0
_numbers = itertools.count(1)


def register(paid: EmulatedPaid, issue: DemoIssue, **fields: Any) -> str:
    """Registers the issue's repository with a token of its own; returns that token."""
    login = f"poller-{issue.repo}"
    token = f"ghp_{secrets.token_hex(16)}"
    paid.github.add_user(login, token)
    # The project's token is what Paid acts with on this repository (polling, runs, comments): a
    # token of someone with write access, as GitHub would require of a real one.
    paid.github.set_permission(issue.owner, issue.repo, login, "write")
    body = {
        "repository": f"{issue.owner}/{issue.repo}",
        "token": token,
        "poll_interval_seconds": POLL_SECONDS,
    }
    response = httpx.post(
        f"{paid.platform.url('gateway')}/api/projects",
        json=body | fields,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    assert token not in response.text
    return token


def new_issue(paid: EmulatedPaid, *, webhooks: bool) -> DemoIssue:
    issue = paid.create_repository("poll-org", f"calculator-{next(_numbers)}")
    paid.github.set_hooks_active(issue.owner, issue.repo, webhooks)
    return issue


async def poll_state(paid: EmulatedPaid, issue: DemoIssue) -> asyncpg.Record | None:
    connection = await asyncpg.connect(paid.platform.infra.database_url)
    try:
        return await connection.fetchrow(
            "SELECT * FROM poller.poll_state WHERE repo = $1", f"{issue.owner}/{issue.repo}".lower()
        )
    finally:
        await connection.close()


def wait_polled(
    paid: EmulatedPaid, issue: DemoIssue, *, after: float = 0.0, timeout: float = 60.0
) -> asyncpg.Record:
    """Waits for a poll of the repository that ended after `after` (epoch seconds)."""
    found: list[asyncpg.Record] = []

    def polled() -> bool:
        state = asyncio.run(poll_state(paid, issue))
        if state is not None and state["last_polled_at"].timestamp() > after:
            found.append(state)
            return True
        return False

    wait_until(polled, timeout=timeout, what=f"a poll of {issue.owner}/{issue.repo}")
    return found[-1]


def labeled_event_id(paid: EmulatedPaid, issue: DemoIssue, login: str) -> int:
    events = paid.github.issue_events(issue.owner, issue.repo)
    return max(int(e["id"]) for e in events if e["event"] == "labeled" and e["actor"]["login"] == login)


def wait_handled(paid: EmulatedPaid, issue: DemoIssue, event_id: int, timeout: float = 60.0) -> None:
    def handled() -> bool:
        state = asyncio.run(poll_state(paid, issue))
        return state is not None and (state["last_event_id"] or 0) >= event_id

    wait_until(handled, timeout=timeout, what=f"the poller handling issue event {event_id}")


def test_with_webhooks_off_a_labeling_is_polled_into_the_same_run(paid: EmulatedPaid) -> None:
    issue = new_issue(paid, webhooks=False)
    register(paid, issue)
    wait_polled(paid, issue)

    labeled_at = time.monotonic()
    paid.label(issue)
    wait_until(lambda: asyncio.run(workflow_count(paid, issue)) == 1, timeout=60, what="the run")
    started_after = time.monotonic() - labeled_at
    paid.wait_for_pull(issue)

    [request] = asyncio.run(build_requests(paid, issue))
    assert request["source"] == "poll"
    assert request["actor"] == MAINTAINER
    assert paid.github.deliveries(event="issues", action="labeled") == [] or all(
        d.repo != f"{issue.owner}/{issue.repo}"
        for d in paid.github.deliveries(event="issues", action="labeled")
    )
    print(f"run started {started_after:.1f} s after the labeling (poll interval {POLL_SECONDS} s)")


def test_with_webhooks_and_polling_one_labeling_is_one_run(paid: EmulatedPaid) -> None:
    issue = new_issue(paid, webhooks=True)
    register(paid, issue)
    wait_polled(paid, issue)

    paid.label(issue)
    paid.wait_for_pull(issue)
    wait_handled(paid, issue, labeled_event_id(paid, issue, MAINTAINER))

    assert asyncio.run(workflow_count(paid, issue)) == 1
    # The webhook's event and the poll's carry the same id: JetStream kept one.
    [request] = asyncio.run(build_requests(paid, issue))
    assert request["source"] == "webhook"
    assert request["event_id"].startswith(f"github:{issue.owner}/{issue.repo}#{issue.number}:labeled:")


def test_an_unchanged_poll_cycle_costs_no_rate_limit_points(paid: EmulatedPaid) -> None:
    issue = new_issue(paid, webhooks=True)
    token = register(paid, issue)
    first = wait_polled(paid, issue)
    settled = wait_polled(paid, issue, after=first["last_polled_at"].timestamp())
    used = paid.github.rate_limit_usage(token).used

    later = wait_polled(paid, issue, after=settled["last_polled_at"].timestamp())
    wait_polled(paid, issue, after=later["last_polled_at"].timestamp())

    assert used > 0
    assert paid.github.rate_limit_usage(token).used == used


def test_an_exhausted_rate_limit_makes_the_poller_wait_for_the_reset_and_lose_nothing(
    paid: EmulatedPaid,
) -> None:
    issue = new_issue(paid, webhooks=False)
    token = register(paid, issue)
    wait_polled(paid, issue)
    window = 12
    paid.github.set_rate_limit(token, limit=0, window_seconds=window)
    reset_at = time.time() + window
    paid.label(issue)

    async def waits() -> int:
        client = await Client.connect(paid.platform.infra.temporal_target)
        handle = client.get_workflow_handle(f"poll:{issue.owner}/{issue.repo}")
        status: dict[str, Any] = await handle.query("status")
        return int(status["rate_limit_waits"])

    wait_until(lambda: asyncio.run(waits()) >= 1, timeout=30, what="the poller to hit the rate limit")
    assert asyncio.run(workflow_count(paid, issue)) == 0
    paid.github.set_rate_limit(token, limit=5000, window_seconds=window)  # the next window's budget
    wait_until(
        lambda: asyncio.run(workflow_count(paid, issue)) == 1, timeout=60, what="the run after the reset"
    )

    assert time.time() >= reset_at - window  # sanity: the clock moved forward
    [request] = asyncio.run(build_requests(paid, issue))
    assert request["source"] == "poll"


def test_an_untrusted_labeler_starts_nothing_and_gets_one_comment(paid: EmulatedPaid) -> None:
    issue = new_issue(paid, webhooks=True)
    register(paid, issue)
    wait_polled(paid, issue)
    paid.github.add_user(stranger := f"stranger-{issue.repo}")

    paid.label(issue, as_user=stranger)
    wait_handled(paid, issue, labeled_event_id(paid, issue, stranger))  # the poller saw it as well

    def refusals() -> list[dict[str, Any]]:
        comments = paid.github.comments(issue.owner, issue.repo, issue.number)
        return [c for c in comments if MARKER_PREFIX in str(c["body"])]

    wait_until(lambda: len(refusals()) >= 1, timeout=30, what="the refusal comment")
    assert len(refusals()) == 1
    assert f"@{stranger}" in refusals()[0]["body"]
    assert asyncio.run(workflow_count(paid, issue)) == 0
    assert asyncio.run(build_requests(paid, issue)) == []
