"""A conflict round end to end (heavy): a run opens its pull request; a push to the base changes the
line the pull request changed, so it no longer merges; the push reaches the executor over NATS, the
round merges the base into the head, a scripted agent resolves the conflict in the bwrap sandbox,
and Paid pushes the merge. The pull request then merges, the emulator's test CI passes on the merged
tree, and merging it closes the issue. The short forms are test_conflict_rounds and test_conversation."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import IssueRef, RepoRef, RunOutcome, TriggerSource
from paid_executor.activities import make_deps
from paid_executor.config import ExecutorSettings
from paid_executor.worker import make_worker
from paid_github_emulator.server import GitHubEmulator
from paid_github_events.pull_requests import base_branch_pushed
from paid_github_events.rules import Origin
from paid_runtime.database import session_factory
from paid_runtime.messaging import publish_event

from .conftest import TOKEN, git
from .loop_support import script_agent
from .test_attempts import attempt_result, consuming_broker, labeled
from .test_ci_round_e2e import completed_checks
from .test_subscribers import eventually

__all__ = ["consuming_broker"]
CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
UPSTREAM = CALC.replace("a - b", "a - b  # wrong: see the issue").replace("a * b", "a * b  # product")
FIX = (
    "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,5 +1,5 @@\n def add(a, b):\n"
    "-    return a - b\n+    return a + b\n \n \n def mul(a, b):\n"
)
ISSUE = f"add(2, 3) returns -1. Apply this:\n\n```diff\n{FIX}```\n"
CI_CHECK = "import sys\n\nimport calc\n\nsys.exit(0 if calc.add(2, 3) == 5 and calc.mul(2, 3) == 6 else 1)\n"
# The stand-in agent: where git left conflict markers it keeps the pull request's side (the merge
# already holds the base's other changes); anywhere else it is the demo agent.
RESOLVING_AGENT = """\
marked = [p for p in pathlib.Path('.').rglob('*.py') if '<<<<<<< ' in p.read_text()]
if not marked:
    import subprocess
    sys.exit(subprocess.run([sys.executable, '-m', 'paid_executor.agents.demo_agent']).returncode)
for path in marked:
    kept, side = [], None
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith('<<<<<<< '):
            side = 'ours'
        elif line.startswith('=======') and side == 'ours':
            side = 'theirs'
        elif line.startswith('>>>>>>> ') and side == 'theirs':
            side = None
        elif side != 'theirs':
            kept.append(line)
    path.write_text(''.join(kept))
"""


@pytest.fixture
async def worker(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> AsyncIterator[Worker]:
    agent_dir = tmp_path / "agent"
    agent_dir.mkdir()
    settings = ExecutorSettings(
        github_api_url=emulator.api_url,
        github_token=TOKEN,
        github_credentials="global",
        workspace_root=tmp_path / "workspaces",
        task_queue=f"executor-test-{uuid.uuid4()}",
        agent="command",
        agent_command=script_agent(agent_dir / "resolve.py", RESOLVING_AGENT),
        sandbox_read_only=[agent_dir],
    )
    async with make_worker(env.client, make_deps(settings, broker, session_factory(engine))) as running:
        yield running


@pytest.fixture
def settings(worker: Worker, emulator: GitHubEmulator) -> ExecutorSettings:
    return ExecutorSettings(
        task_queue=worker.task_queue,
        github_api_url=emulator.api_url,
        github_token=TOKEN,
        github_credentials="global",
        agent="command",
    )


async def push_to_main(emulator: GitHubEmulator, repo: RepoRef, content: str) -> str:
    async with httpx.AsyncClient(
        base_url=emulator.api_url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as github:
        path = f"/repos/{repo.owner}/{repo.name}/contents/calc.py"
        blob = (await github.get(path, params={"ref": "main"})).json()["sha"]
        encoded = base64.b64encode(content.encode()).decode()
        written = await github.put(
            path, json={"message": "upstream", "content": encoded, "branch": "main", "sha": blob}
        )
        written.raise_for_status()
        return str(written.json()["commit"]["sha"])


@pytest.mark.heavy  # ~60 s: a run, the CI three times, a round
async def test_a_conflicting_push_to_the_base_brings_a_round_and_the_pull_request_merges(
    env: WorkflowEnvironment,
    worker: Worker,
    consuming_broker: NatsBroker,
    emulator: GitHubEmulator,
    tmp_path: Path,
) -> None:
    emulator.add_user("alice", TOKEN)
    name = f"calc-{uuid.uuid4().hex[:8]}"
    emulator.create_repository("alice", name, {"calc.py": CALC, "ci_check.py": CI_CHECK})
    emulator.enable_test_ci("alice", name, ["python3", "ci_check.py"])
    repo = RepoRef(owner="alice", name=name)
    emulator.create_issue("alice", name, title="add() subtracts", body=ISSUE, as_user="alice")
    issue = IssueRef(repo=repo, number=1)

    await publish_event(consuming_broker, labeled(issue))
    first = await attempt_result(env, issue, 1)
    assert first.outcome is RunOutcome.SUCCEEDED
    number = first.pull_request_number
    assert number is not None
    head = emulator.branch_sha("alice", name, "paid/issue-1")
    assert head is not None

    before = emulator.branch_sha("alice", name, "main") or ""
    main = await push_to_main(emulator, repo, UPSTREAM)
    (pull,) = emulator.pulls("alice", name, state="open")
    assert pull["mergeable"] is False
    pushed = base_branch_pushed(
        repo,
        ref="refs/heads/main",
        default_branch="main",
        before=before,
        after=main,
        deleted=False,
        pusher="alice",
        origin=Origin("test", TriggerSource.WEBHOOK, str(uuid.uuid4())),
    )
    await publish_event(consuming_broker, pushed)

    async def moved() -> bool:
        return emulator.branch_sha("alice", name, "paid/issue-1") != head

    await eventually(moved, timeout=240)
    merge = emulator.branch_sha("alice", name, "paid/issue-1")
    assert merge is not None
    merged_tree = emulator.file_content("alice", name, "calc.py", merge) or ""
    assert "return a + b" in merged_tree  # the pull request's fix
    assert "return a * b  # product" in merged_tree  # the base's other change
    assert "<<<<<<<" not in merged_tree
    checkout = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", emulator.git_url("alice", name, TOKEN), str(checkout))
    git(checkout, "fetch", "--quiet", "origin", "paid/issue-1")
    assert git(checkout, "rev-parse", f"{merge}^1", f"{merge}^2").split() == [head, main]

    (green,) = await completed_checks(emulator, repo, merge)
    assert green.conclusion == "success"  # the tests pass on the merged tree
    (pull,) = emulator.pulls("alice", name, state="open")
    assert pull["mergeable"] is True

    async def reported() -> bool:
        comments = emulator.comments("alice", name, number)
        return any("Round 1 (conflict, asked by @alice) pushed" in c["body"] for c in comments)

    await eventually(reported, timeout=60)
    merged = emulator.merge_pull("alice", name, number, as_user="alice")
    assert merged["merged"] is True
