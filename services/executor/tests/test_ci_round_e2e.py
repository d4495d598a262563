"""A CI round end to end (heavy): the issue carries paid-fix-ci; the run's pull request fails the
emulator's test CI; the failing check reaches the executor over NATS; the round's agent (the demo
agent, applying the diff the check's log suggests) adds a commit to the same pull request, whose
check then passes. The short forms are test_ci_rounds and test_conversation."""

from __future__ import annotations

import uuid

import httpx
import pytest
from faststream.nats import NatsBroker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import CheckRunCompleted, IssueRef, RepoRef, RunOutcome
from paid_executor.config import ExecutorSettings
from paid_github_emulator.ci import CI_LOGIN
from paid_github_emulator.server import GitHubEmulator
from paid_github_events import listed_check_run
from paid_runtime.messaging import publish_event

from .conftest import BUGGY_CALC, ISSUE_WITH_FIX, TEST_CALC, TOKEN
from .test_attempts import attempt_result, consuming_broker, labeled
from .test_subscribers import eventually

__all__ = ["consuming_broker"]
CI_APP = f"{CI_LOGIN}-checks"
DOC_DIFF = '''diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,3 @@
 def add(a, b):
+    """The sum of a and b."""
     return a + b
'''
CI_CHECK = f"""import sys

if '\"\"\"' in open("calc.py").read():
    print("calc.py is documented")
    sys.exit(0)
print("calc.py:1: add() has no docstring; this change adds one:")
print("```diff")
print({DOC_DIFF!r}, end="")
print("```")
sys.exit(1)
"""


@pytest.fixture
def settings(worker: Worker, emulator: GitHubEmulator) -> ExecutorSettings:
    return ExecutorSettings(
        task_queue=worker.task_queue,
        github_api_url=emulator.api_url,
        github_token=TOKEN,
        ci_check_apps=[CI_APP],
    )


async def completed_checks(emulator: GitHubEmulator, repo: RepoRef, sha: str) -> list[CheckRunCompleted]:
    found: list[CheckRunCompleted] = []

    async def done() -> bool:
        async with httpx.AsyncClient(
            base_url=emulator.api_url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as github:
            listed = await github.get(f"/repos/{repo.owner}/{repo.name}/commits/{sha}/check-runs")
        runs = [listed_check_run(repo, run, producer="test") for run in listed.json()["check_runs"]]
        found[:] = [run for run in runs if run is not None]
        return bool(found)

    await eventually(done, timeout=120)
    return found


@pytest.mark.heavy  # ~60 s: a run, the CI twice, a round
async def test_a_failing_check_brings_the_agent_back_and_the_check_turns_green(
    env: WorkflowEnvironment,
    worker: Worker,
    consuming_broker: NatsBroker,
    emulator: GitHubEmulator,
) -> None:
    emulator.add_user("alice", TOKEN)
    name = f"calc-{uuid.uuid4().hex[:8]}"
    emulator.create_repository(
        "alice", name, {"calc.py": BUGGY_CALC, "test_calc.py": TEST_CALC, "ci_check.py": CI_CHECK}
    )
    emulator.enable_test_ci("alice", name, ["python3", "ci_check.py"])
    repo = RepoRef(owner="alice", name=name)
    emulator.create_issue("alice", name, title="add() subtracts", body=ISSUE_WITH_FIX, as_user="alice")
    emulator.add_labels("alice", name, 1, ["paid-fix-ci"], as_user="alice")
    issue = IssueRef(repo=repo, number=1)

    await publish_event(consuming_broker, labeled(issue))
    first = await attempt_result(env, issue, 1)
    assert first.outcome is RunOutcome.SUCCEEDED
    assert first.pull_request_number is not None
    head = emulator.branch_sha("alice", name, "paid/issue-1")
    assert head is not None
    (failing,) = await completed_checks(emulator, repo, head)
    assert failing.conclusion == "failure"
    assert failing.pull_numbers == (first.pull_request_number,)

    await publish_event(consuming_broker, failing)

    async def moved() -> bool:
        return emulator.branch_sha("alice", name, "paid/issue-1") != head

    await eventually(moved, timeout=240)
    new_head = emulator.branch_sha("alice", name, "paid/issue-1")
    assert new_head is not None
    assert '"""The sum of a and b."""' in (emulator.file_content("alice", name, "calc.py", new_head) or "")
    (green,) = await completed_checks(emulator, repo, new_head)
    assert green.conclusion == "success"
    assert [p["state"] for p in emulator.pulls("alice", name)] == ["open"]

    async def reported() -> bool:
        comments = emulator.comments("alice", name, first.pull_request_number or 0)
        return any("Round 1 (ci, asked by @test-ci-checks) pushed" in c["body"] for c in comments)

    await eventually(reported, timeout=60)
