"""A CI round end to end (heavy): the issue carries paid-fix-ci; the run's pull request fails the
emulator's test CI; the failing check reaches the executor over NATS; the round's agent (the demo
agent, applying the diff the check's log suggests) adds a commit to the same pull request, whose
check then passes. A check that fails the same way after the round stops the rounds with one comment,
and a failing status set by a writer who is not on the creators' allowlist starts nothing. The short
forms are test_ci_rounds and test_conversation."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from faststream.nats import NatsBroker
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import CheckRunCompleted, IssueRef, RepoRef, RunOutcome, subjects
from paid_contracts.workflow_ids import pull_conversation_workflow_id
from paid_executor.config import ExecutorSettings
from paid_executor.rounds.conversation import PullConversationWorkflow
from paid_github_emulator.ci import CI_LOGIN
from paid_github_emulator.server import GitHubEmulator
from paid_github_events import listed_check_run
from paid_runtime.messaging import publish_event
from paid_runtime.subscriptions import stream_of

from .conftest import BUGGY_CALC, ISSUE_WITH_FIX, TEST_CALC, TOKEN
from .test_attempts import attempt_result, consuming_broker, labeled
from .test_ci_rounds import set_status
from .test_round_triggers import RITA
from .test_subscribers import eventually

__all__ = ["consuming_broker"]
CI_APP = f"{CI_LOGIN}-checks"
STATUS_CONSUMER = "executor-commit-status-changed"  # register_rounds' durable for commit statuses
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
        ci_status_creators=["ci-bot"],
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


NOTE_DIFF = """diff --git a/NOTES.md b/NOTES.md
new file mode 100644
--- /dev/null
+++ b/NOTES.md
@@ -0,0 +1 @@
+add() is documented in the wiki.
"""
STUBBORN_CHECK = f"""import sys

print("calc.py:1: add() has no docstring; this change may help:")
print("```diff")
print({NOTE_DIFF!r}, end="")
print("```")
sys.exit(1)
"""


async def handled(broker: NatsBroker, subject: str, durable: str) -> bool:
    """Every message on the consumer delivered and acknowledged: its handler has returned."""
    consumer = await broker.connection.jetstream().consumer_info(stream_of(subject).name, durable)
    return (consumer.num_pending, consumer.num_ack_pending) == (0, 0)


async def conversation_exists(env: WorkflowEnvironment, repo: RepoRef, number: int) -> bool:
    handle = env.client.get_workflow_handle(pull_conversation_workflow_id(repo.full_name, number))
    try:
        await handle.describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        return False
    return True


@pytest.mark.heavy  # ~60 s: a run, the CI twice, a round
async def test_the_same_failure_twice_stops_the_rounds_with_one_comment_and_an_unlisted_status_starts_nothing(
    env: WorkflowEnvironment,
    worker: Worker,
    consuming_broker: NatsBroker,
    emulator: GitHubEmulator,
) -> None:
    emulator.add_user("alice", TOKEN)
    emulator.add_user("rita", RITA)
    name = f"calc-{uuid.uuid4().hex[:8]}"
    emulator.create_repository(
        "alice", name, {"calc.py": BUGGY_CALC, "test_calc.py": TEST_CALC, "ci_check.py": STUBBORN_CHECK}
    )
    emulator.set_permission("alice", name, "rita", "write")
    emulator.enable_test_ci("alice", name, ["python3", "ci_check.py"])
    repo = RepoRef(owner="alice", name=name)
    emulator.create_issue("alice", name, title="add() subtracts", body=ISSUE_WITH_FIX, as_user="alice")
    emulator.add_labels("alice", name, 1, ["paid-fix-ci"], as_user="alice")
    issue = IssueRef(repo=repo, number=1)

    await publish_event(consuming_broker, labeled(issue))
    first = await attempt_result(env, issue, 1)
    assert first.outcome is RunOutcome.SUCCEEDED
    number = first.pull_request_number
    assert number is not None
    head = emulator.branch_sha("alice", name, "paid/issue-1")
    assert head is not None

    # A writer who is not on the creators' allowlist fakes a failure on the head: once the executor
    # has handled the status, no conversation exists for the pull request.
    faked = await set_status(emulator, RITA, repo, head, "failure")
    await publish_event(consuming_broker, faked)
    await eventually(
        lambda: handled(consuming_broker, subjects.GITHUB_COMMIT_STATUS_CHANGED, STATUS_CONSUMER), timeout=60
    )
    assert not await conversation_exists(env, repo, number)

    (failing,) = await completed_checks(emulator, repo, head)
    assert failing.conclusion == "failure"
    await publish_event(consuming_broker, failing)

    async def moved() -> bool:
        return emulator.branch_sha("alice", name, "paid/issue-1") != head

    await eventually(moved, timeout=240)
    round_head = emulator.branch_sha("alice", name, "paid/issue-1")
    assert round_head is not None
    assert (
        emulator.file_content("alice", name, "NOTES.md", round_head) == "add() is documented in the wiki.\n"
    )
    (again,) = await completed_checks(emulator, repo, round_head)
    assert again.conclusion == "failure"
    assert again.check_run_id != failing.check_run_id
    await publish_event(consuming_broker, again)

    def stop_comments() -> list[dict[str, Any]]:
        return [c for c in emulator.comments("alice", name, number) if "failed the same way" in c["body"]]

    async def stopped() -> bool:
        return bool(stop_comments())

    await eventually(stopped, timeout=120)
    conversation = env.client.get_workflow_handle_for(
        PullConversationWorkflow.run, pull_conversation_workflow_id(repo.full_name, number)
    )

    async def settled() -> bool:
        status = await conversation.query(PullConversationWorkflow.status)
        return status.pending == 0 and len(status.seen) == 2

    await eventually(settled, timeout=60)
    status = await conversation.query(PullConversationWorkflow.status)
    assert (status.rounds, status.counts) == (1, {"ci": 1})
    assert faked.event_id not in status.seen
    assert emulator.branch_sha("alice", name, "paid/issue-1") == round_head  # no second round pushed
    (comment,) = stop_comments()
    assert "The check `tests` ended as failure. It failed the same way after round 1" in comment["body"]
    assert "Paid stops its CI rounds" in comment["body"]
    rounds_comments = [c for c in emulator.comments("alice", name, number) if "follow-up rounds" in c["body"]]
    assert [c["id"] for c in rounds_comments] == [comment["id"]]  # one comment, the stop written into it
