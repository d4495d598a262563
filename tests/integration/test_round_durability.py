"""The executor is killed with SIGKILL while a review round's agent runs; restarted, the round ends
with one commit, one reply in each thread and one round in the conversation's one comment: the round
moves to a fresh worktree once nobody takes the lost worker's queue (its home start timeout, 30 s).
Heavy (~90 s); its short form is services/executor/tests/test_round_rehome.py."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from paid_devstack import wait_until
from paid_devstack.demo_repo import ROUND_EVENTS
from paid_devstack.processes import pid_alive
from paid_devstack.review_rounds import request_changes, tally
from paid_devstack.sandbox import EmulatedPaid

pytestmark = pytest.mark.integration


@pytest.mark.heavy
def test_executor_killed_while_a_review_rounds_agent_runs_leaves_exactly_one_round(
    paid: EmulatedPaid, tmp_path: Path
) -> None:
    issue = paid.create_repository("acme", f"rounds-{uuid.uuid4().hex[:8]}", hook_events=ROUND_EVENTS)
    paid.label(issue)
    pull = paid.wait_for_pull(issue)
    paid.wait_for_result_comment(issue)
    gate = tmp_path / "round-gate"
    started = gate.with_suffix(".started")
    reviewed = request_changes(paid, issue, int(pull["number"]), note=f"HOLD-UNTIL: {gate}\n")
    wait_until(started.exists, timeout=60, what="the round's agent to start")
    (first_agent_pid,) = map(int, started.read_text().split())

    paid.platform.kill("executor")
    wait_until(lambda: not pid_alive(first_agent_pid), timeout=10, what="the orphaned agent to die")
    assert tally(paid, reviewed).new_commits == 0
    paid.platform.start_service("executor")
    gate.touch()

    wait_until(lambda: tally(paid, reviewed).finished, timeout=120, what="the round to finish")
    counted = tally(paid, reviewed)
    assert counted.pushed, counted.round_lines
    assert (len(counted.round_lines), counted.conversation_comments, counted.new_commits) == (1, 1, 1)
    assert counted.replies == dict.fromkeys(reviewed.threads, 1)
    assert (counted.lost(), counted.duplicated()) == (None, None)
    assert len(started.read_text().split()) == 2, "the round's agent should have run again after the kill"
