"""Attempts through all five services: after a success whose pull request was closed unmerged, the
retry API starts attempt 2 (`exec:…#n:2`), which opens a new pull request; while a pull request is
open the retry API answers 409 with the reason and nothing starts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from paid_contracts.workflow_ids import execution_workflow_id
from paid_devstack import wait_until
from paid_devstack.demo_repo import DemoIssue
from paid_devstack.sandbox import EmulatedPaid

pytestmark = pytest.mark.integration


def _runs(paid: EmulatedPaid, issue: DemoIssue, token: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{paid.platform.url('gateway')}/api/runs",
        params={"repo": f"{issue.owner}/{issue.repo}"},
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    return [run for run in response.json()["runs"] if run["issue_number"] == issue.number]


def _finished(paid: EmulatedPaid, issue: DemoIssue, token: str, attempt: int) -> dict[str, Any]:
    def ended() -> bool:
        return any(r["attempt"] == attempt and r["status"] != "running" for r in _runs(paid, issue, token))

    wait_until(ended, timeout=180, what=f"attempt {attempt} to end")
    return next(r for r in _runs(paid, issue, token) if r["attempt"] == attempt)


def _retry(paid: EmulatedPaid, run_id: str, token: str) -> httpx.Response:
    return httpx.post(
        f"{paid.platform.url('gateway')}/api/runs/{run_id}/retry",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


async def _workflow_count(paid: EmulatedPaid, issue: DemoIssue, attempt: int) -> int:
    client = await Client.connect(paid.platform.infra.temporal_target)
    workflow_id = execution_workflow_id(f"{issue.owner}/{issue.repo}", issue.number, attempt)
    return (await client.count_workflows(f"WorkflowId = '{workflow_id}'")).count


def test_the_retry_api_starts_attempt_2_once_the_pull_request_was_closed_unmerged(
    paid: EmulatedPaid, issue: DemoIssue, admin_token: str
) -> None:
    paid.label(issue)
    first_pull = paid.wait_for_pull(issue)
    first = _finished(paid, issue, admin_token, 1)
    assert first["status"] == "succeeded"

    refused = _retry(paid, first["run_id"], admin_token)
    assert refused.status_code == 409
    assert f"its pull request #{first_pull['number']} is open" in refused.json()["detail"]

    closed = httpx.patch(
        f"{paid.github.api_url}/repos/{issue.owner}/{issue.repo}/pulls/{first_pull['number']}",
        json={"state": "closed"},
        headers={"Authorization": f"token {paid.maintainer_token}"},
    )
    closed.raise_for_status()
    accepted = _retry(paid, first["run_id"], admin_token)
    assert accepted.status_code == 202, accepted.text

    second = _finished(paid, issue, admin_token, 2)
    assert second["status"] == "succeeded"
    assert second["run_id"] != first["run_id"]
    assert second["workflow_id"] == execution_workflow_id(f"{issue.owner}/{issue.repo}", issue.number, 2)
    pulls = paid.pulls(issue)
    assert sorted(p["state"] for p in pulls) == ["closed", "open"]
    assert second["pull_request_number"] != first_pull["number"]
    assert asyncio.run(_workflow_count(paid, issue, 3)) == 0
