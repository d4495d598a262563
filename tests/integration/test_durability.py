"""The executor is killed with SIGKILL while the agent runs; restarted, the run finishes with one PR."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from paid_devstack import wait_until
from paid_devstack.demo_repo import DemoIssue, issue_body
from paid_devstack.sandbox import EmulatedPaid

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") == -1


def _gate_issue(paid: EmulatedPaid, issue: DemoIssue, gate: Path) -> None:
    """Asks the test agent (via the issue text) to wait at the gate before making its change."""
    response = httpx.patch(
        f"{paid.github.api_url}/repos/{issue.owner}/{issue.repo}/issues/{issue.number}",
        json={"body": f"{issue_body()}\nHOLD-UNTIL: {gate}\n"},
        headers={"Authorization": f"token {paid.maintainer_token}"},
    )
    response.raise_for_status()


def test_executor_killed_while_the_agent_runs_finishes_with_exactly_one_pr(
    paid: EmulatedPaid, issue: DemoIssue, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    started = gate.with_suffix(".started")
    _gate_issue(paid, issue, gate)
    paid.label(issue)
    wait_until(started.exists, timeout=60, what="the agent to start")
    (first_agent_pid,) = map(int, started.read_text().split())

    paid.platform.kill("executor")
    wait_until(lambda: not _alive(first_agent_pid), timeout=10, what="the orphaned agent to die")
    assert not paid.pulls(issue)
    paid.platform.start_service("executor")
    gate.touch()

    pull = paid.wait_for_pull(issue)
    paid.wait_for_result_comment(issue)
    assert len(started.read_text().split()) == 2, "the agent should have run again after the kill"
    assert [p["number"] for p in paid.pulls(issue)] == [pull["number"]]
    result_comments = [
        c for c in paid.github.comments(issue.owner, issue.repo, issue.number) if ":result -->" in c["body"]
    ]
    assert len(result_comments) == 1
