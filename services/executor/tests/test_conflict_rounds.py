"""Conflict rounds, the short form (the full round on the real servers is test_conflict_round_e2e):
a base that moved so that Paid's pull request no longer merges asks for one conflict round, named by
the base commit (the push and a merged pull request heard for the same commit ask once), and nothing
for a pull request that still merges or is not Paid's; the host merges the base into the head with
git's markers, refuses a resolution that leaves one, and pushes the agent's resolution as the merge
of the head and the base, which then merges cleanly."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from paid_contracts import IssueRef, RepoRef
from paid_executor.host_repository import HostRepository
from paid_executor.params import RunContext
from paid_executor.rounds.activities import _resolved_merge
from paid_executor.rounds.conflicts import conflict_change_id, conflict_rounds
from paid_executor.rounds.params import RoundPublishInput
from paid_executor.rounds.prompt import round_prompt
from paid_executor.rounds.triggers import NoRound
from paid_executor.workspace import Identity
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.github_trust import github_client

from .conftest import FIXED_CALC, TOKEN, git
from .test_round_triggers import RITA, open_pull, paid, repository

__all__ = ["paid", "repository"]  # fixtures shared with test_round_triggers
UPSTREAM_CALC = "def add(a, b):\n    return a - b  # see the issue\n"
RESOLVED_CALC = "def add(a, b):\n    return a + b  # see the issue\n"


async def write_main(emulator: GitHubEmulator, repo: RepoRef, content: str) -> str:
    """A commit on main by the repository's owner (a push to the base); answers its sha."""
    async with github_client(emulator.api_url, TOKEN) as github:
        path = f"/repos/{repo.owner}/{repo.name}/contents/calc.py"
        blob = (await github.get(path, params={"ref": "main"})).json()["sha"]
        written = await github.put(
            path,
            json={
                "message": "upstream",
                "content": base64.b64encode(content.encode()).decode(),
                "branch": "main",
                "sha": blob,
            },
        )
        written.raise_for_status()
        return str(written.json()["commit"]["sha"])


async def test_a_base_that_conflicts_with_paids_pull_request_asks_for_one_conflict_round(
    emulator: GitHubEmulator, repository: RepoRef, paid: httpx.AsyncClient
) -> None:
    ours = await open_pull(emulator, repository, TOKEN, "paid/issue-1")
    theirs = await open_pull(emulator, repository, RITA, "rita-fix")  # the same change, not Paid's
    before = await conflict_rounds(paid, repository, base="main", requested_by="alice")
    assert isinstance(before, NoRound)
    assert f"#{ours} merges into main" in before.reason
    assert f"#{theirs} is not a pull request Paid opened" in before.reason

    main = await write_main(emulator, repository, UPSTREAM_CALC)
    pushed = await conflict_rounds(paid, repository, base="main", requested_by="alice")
    merged = await conflict_rounds(paid, repository, base=None, requested_by="bob")  # a merged pull
    assert isinstance(pushed, list)
    assert isinstance(merged, list)
    (found,) = pushed
    assert (found.number, found.branch, found.issue.number, found.request.kind) == (
        ours,
        "paid/issue-1",
        1,
        "conflict",
    )
    assert found.request.change_id == conflict_change_id(repository, ours, main)
    assert found.request.change_id == f"github:{repository.full_name.lower()}#{ours}:conflicts-with:{main}"
    assert [round.request.change_id for round in merged] == [found.request.change_id]

    prompt = round_prompt(
        found.request,
        repository="alice/x",
        branch="paid/issue-1",
        number=ours,
        title="t",
        conflicts=("calc.py",),
    )
    assert "- calc.py" in prompt
    assert "<<<<<<<" in prompt


@pytest.fixture
def diverged(repo_dir: Path) -> tuple[HostRepository, str, str]:
    """The repository with a head that fixes add() and a base that changed the same line."""
    git(repo_dir, "checkout", "--quiet", "-b", "paid/issue-1")
    (repo_dir / "calc.py").write_text(FIXED_CALC)
    git(repo_dir, "commit", "--quiet", "-am", "fix")
    head = git(repo_dir, "rev-parse", "HEAD").strip()
    git(repo_dir, "checkout", "--quiet", "main")
    (repo_dir / "calc.py").write_text(UPSTREAM_CALC)
    git(repo_dir, "commit", "--quiet", "-am", "upstream")
    base = git(repo_dir, "rev-parse", "HEAD").strip()
    return HostRepository(repo_dir / ".git", identity=Identity("Paid", "paid@localhost")), head, base


def publish_input(start: str, head: str, base: str) -> RoundPublishInput:
    issue = IssueRef(repo=RepoRef(owner="alice", name="calc"), number=1)
    run = RunContext(
        run_id="r",
        workflow_id="w",
        issue=issue,
        agent="demo",
        prompt_version="round@1",
        started_at=datetime.now(UTC),
    )
    return RoundPublishInput(
        run=run,
        clone_url="unused",
        branch="paid/issue-1",
        head_sha=start,
        message="Merge the base and resolve its conflicts on #2 (round 1)",
        merge_parents=(head, base),
        conflicts=("calc.py",),
    )


async def test_the_round_pushes_the_resolution_as_the_merge_of_head_and_base(
    diverged: tuple[HostRepository, str, str], repo_dir: Path
) -> None:
    host, head, base = diverged
    merged = await host.merge_base_into(head, base)
    assert merged.conflicts == ("calc.py",)
    assert git(repo_dir, "rev-parse", f"{merged.commit}^1", f"{merged.commit}^2").split() == [head, base]
    conflicted = git(repo_dir, "show", f"{merged.commit}:calc.py")
    assert "<<<<<<< " in conflicted
    assert ">>>>>>> " in conflicted

    # The agent left the markers: nothing is pushed.
    with pytest.raises(ApplicationError, match=r"conflict markers are left in calc\.py") as refused:
        await _resolved_merge(host, merged.commit, publish_input(merged.commit, head, base))
    assert refused.value.type == "ConflictsLeft"

    # The agent's resolution, as the import commits it: on top of the conflicted merge.
    git(repo_dir, "checkout", "--quiet", merged.commit)
    (repo_dir / "calc.py").write_text(RESOLVED_CALC)
    git(repo_dir, "commit", "--quiet", "-am", "resolved")
    resolved = git(repo_dir, "rev-parse", "HEAD").strip()

    final = await _resolved_merge(host, resolved, publish_input(merged.commit, head, base))
    assert git(repo_dir, "rev-parse", f"{final}^1", f"{final}^2").split() == [head, base]
    assert git(repo_dir, "show", f"{final}:calc.py") == RESOLVED_CALC
    again = await host.merge_base_into(final, base)  # what GitHub asks to call it mergeable
    assert again.conflicts == ()
