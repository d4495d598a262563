"""A labeled issue becomes exactly one pull request, through all five services, on real servers."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import asyncpg
import httpx
import nats
import pytest
from temporalio.client import Client

from paid_contracts.workflow_ids import execution_workflow_id
from paid_devstack import wait_until
from paid_devstack.demo_repo import CALC_FIXED, DemoIssue
from paid_devstack.sandbox import EmulatedPaid
from paid_github_emulator import DeliveryRecord

pytestmark = pytest.mark.integration


def _workflow_id(issue: DemoIssue) -> str:
    return execution_workflow_id(f"{issue.owner}/{issue.repo}", issue.number)


async def _workflow_count(paid: EmulatedPaid, issue: DemoIssue) -> int:
    client = await Client.connect(paid.platform.infra.temporal_target)
    return (await client.count_workflows(f"WorkflowId = '{_workflow_id(issue)}'")).count


async def _stream_messages(paid: EmulatedPaid, stream: str) -> int:
    connection = await nats.connect(paid.platform.infra.nats_admin_url)
    try:
        info = await connection.jetstream().stream_info(stream)
        return int(info.state.messages)
    finally:
        await connection.close()


async def _run_records(paid: EmulatedPaid, issue: DemoIssue) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(paid.platform.infra.database_url)
    try:
        return list(
            await connection.fetch(
                "SELECT * FROM evolution.run_records WHERE repo = $1 AND issue = $2",
                f"{issue.owner}/{issue.repo}",
                issue.number,
            )
        )
    finally:
        await connection.close()


def _signed_post(
    paid: EmulatedPaid, body: bytes, *, secret: str, event: str, delivery: str
) -> httpx.Response:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature,
        "Content-Type": "application/json",
    }
    return httpx.post(paid.platform.webhook_url, content=body, headers=headers, timeout=10)


def test_labeled_issue_becomes_one_pull_request(paid: EmulatedPaid, issue: DemoIssue) -> None:
    paid.label(issue)

    pull = paid.wait_for_pull(issue)
    comment = paid.wait_for_result_comment(issue)

    assert f"Closes #{issue.number}" in pull["body"]
    branch = pull["head"]["ref"]
    assert paid.github.file_content(issue.owner, issue.repo, "calc.py", ref=branch) == CALC_FIXED
    assert pull["html_url"] in comment["body"]
    assert comment["user"]["login"] == "paid-bot"

    def recorded() -> bool:
        return len(asyncio.run(_run_records(paid, issue))) == 1

    wait_until(recorded, timeout=30, what="evolution's run record")
    (record,) = asyncio.run(_run_records(paid, issue))
    assert record["outcome"] == "succeeded"
    assert record["prompt_version"] == "coding@1"
    assert record["pull_request_url"] == pull["html_url"]
    assert record["duration_seconds"] > 0


def test_the_same_delivery_twice_gives_one_workflow_and_one_pull_request(
    paid: EmulatedPaid, issue: DemoIssue
) -> None:
    paid.label(issue)
    paid.wait_for_result_comment(issue)
    repo = f"{issue.owner}/{issue.repo}"
    (delivery,) = [d for d in paid.github.deliveries(event="issues", action="labeled") if d.repo == repo]

    def attempts() -> list[DeliveryRecord]:
        return [d for d in paid.github.deliveries() if d.guid == delivery.guid]

    paid.github.redeliver(delivery.guid)
    wait_until(
        lambda: len(attempts()) == 2 and all(d.status_code is not None or d.error for d in attempts()),
        timeout=15,
        what="the redelivery's response",
    )

    redelivered = attempts()[-1]
    assert redelivered.redelivery
    assert redelivered.succeeded, redelivered.response_body
    assert json.loads(redelivered.response_body).get("duplicate") is True
    assert asyncio.run(_workflow_count(paid, issue)) == 1
    assert len(paid.pulls(issue)) == 1


def test_bad_signature_gets_401_and_publishes_nothing(paid: EmulatedPaid) -> None:
    before = asyncio.run(_stream_messages(paid, "PAID_GITHUB"))
    body = json.dumps({"action": "labeled"}).encode()

    response = _signed_post(paid, body, secret="not-the-secret", event="issues", delivery="bad-signature-1")

    assert response.status_code == 401
    assert asyncio.run(_stream_messages(paid, "PAID_GITHUB")) == before


def test_malformed_json_gets_400_and_publishes_nothing(paid: EmulatedPaid) -> None:
    before = asyncio.run(_stream_messages(paid, "PAID_GITHUB"))

    response = _signed_post(
        paid, b"{not json", secret=paid.webhook_secret, event="issues", delivery="bad-json-1"
    )

    assert response.status_code == 400
    assert asyncio.run(_stream_messages(paid, "PAID_GITHUB")) == before
