"""Review mode end to end on the emulator, in the bwrap sandbox: the pinned head of a human's pull
request is fetched with a read-only token and exported without `.git`; the agent reads it, cannot
change it or push from it, holds no credential, and its findings become one COMMENT review."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest

from paid_contracts import RepoRef
from paid_executor.agents.base import Invocation
from paid_executor.review_mode import FINDINGS_FILE, ReviewFindingsError, parse_findings
from paid_executor.review_posting import post_review
from paid_executor.review_session import (
    HeadMovedError,
    ReviewDirectories,
    export_pinned_head,
    read_findings_file,
    run_review_agent,
)
from paid_executor.sandbox.bwrap import BubblewrapSandbox, bwrap_path
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.github_trust import github_client

from .conftest import TOKEN
from .review_support import BOB, human_pull, review_repository

READER = "ghp_reader_read_only_token"

AGENT = """
import json, os, pathlib, subprocess, sys
findings = pathlib.Path(os.environ["PAID_FINDINGS_FILE"])
tree = pathlib.Path(os.environ["PAID_REVIEW_TREE"])
report = {"env": dict(os.environ), "cwd": os.getcwd()}
for name, action in [
    ("edit", lambda: (tree / "notes.py").write_text("changed")),
    ("create", lambda: (tree / "new.txt").write_text("x")),
]:
    try:
        action()
        report[name] = "done"
    except OSError as error:
        report[name] = str(error)
push = subprocess.run(["git", "push", sys.argv[1], "HEAD:refs/heads/main"], cwd=tree, capture_output=True)
report["push"] = push.returncode
report["git_dir_in_tree"] = (tree / ".git").exists()
(findings.parent / "report.json").write_text(json.dumps(report))
findings.write_text(json.dumps({"summary": "One remark.", "findings": [
    {"path": "notes.py", "line": 15, "body": "1500 looks like a typo"}]}))
"""


@pytest.fixture
def repository(emulator: GitHubEmulator) -> RepoRef:
    return review_repository(emulator)


needs_bwrap = pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed")


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


@needs_bwrap
async def test_the_agent_reviews_a_pinned_head_read_only_with_no_credential_and_paid_posts_one_review(
    emulator: GitHubEmulator, repository: RepoRef, tmp_path: Path
) -> None:
    emulator.add_user("reader", READER)
    emulator.set_permission(repository.owner, repository.name, "reader", "read")
    number, head = await human_pull(emulator, repository)
    pull = httpx.get(
        f"{emulator.api_url}/repos/{repository.owner}/{repository.name}/pulls/{number}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    directories = ReviewDirectories.under(tmp_path / "review")
    await export_pinned_head(
        directories,
        clone_url=pull["head"]["repo"]["clone_url"],
        ref=f"refs/heads/{pull['head']['ref']}",
        pinned_sha=head,
        token=READER,  # a read-only token is all the fetch needs
    )
    prompt = tmp_path / "prompt.md"
    prompt.write_text("Review the pull request.")
    push_url = emulator.git_url(repository.owner, repository.name)
    exit_code = await run_review_agent(
        BubblewrapSandbox(),
        Invocation(argv=[sys.executable, "-c", AGENT, push_url], stdin=None, env={}),
        directories,
        run_key=f"review-{tmp_path.name}",
        prompt_file=prompt,
        timeout=60,
    )
    assert exit_code == 0

    report = json.loads((directories.output / "report.json").read_text())
    assert report["edit"] != "done"
    assert report["create"] != "done"
    assert report["push"] != 0
    assert report["git_dir_in_tree"] is False
    seen = json.dumps(report["env"])
    for secret in (TOKEN, BOB, READER):
        assert secret not in seen
        for path in files_under(directories.tree) + files_under(directories.output):
            assert secret.encode() not in path.read_bytes(), path
    assert emulator.branch_sha(repository.owner, repository.name, "bob-change") == head

    agent_findings = parse_findings(read_findings_file(directories))
    async with github_client(emulator.api_url, TOKEN) as paid:
        posted = await post_review(
            paid,
            owner=repository.owner,
            name=repository.name,
            number=number,
            head_sha=head,
            findings=agent_findings,
        )
        reviews = (
            await paid.get(f"/repos/{repository.owner}/{repository.name}/pulls/{number}/reviews")
        ).json()
    assert posted.inline_comments == 1
    assert [(r["user"]["login"], r["state"]) for r in reviews] == [("alice", "COMMENTED")]


async def test_a_head_that_moved_from_the_pinned_commit_is_not_exported(
    emulator: GitHubEmulator, repository: RepoRef, tmp_path: Path
) -> None:
    number, _ = await human_pull(emulator, repository)
    directories = ReviewDirectories.under(tmp_path / "review")
    with pytest.raises(HeadMovedError, match="not eeeeeeeeeeee as pinned"):
        await export_pinned_head(
            directories,
            clone_url=emulator.git_url(repository.owner, repository.name),
            ref="refs/heads/bob-change",
            pinned_sha="e" * 40,
            token=TOKEN,
        )
    assert not directories.tree.exists()
    del number


def test_a_findings_file_that_is_a_link_or_a_directory_is_not_read(tmp_path: Path) -> None:
    directories = ReviewDirectories.under(tmp_path / "review")
    directories.output.mkdir(parents=True)
    host_secret = tmp_path / "host-secret.json"
    host_secret.write_text('{"findings": []}')
    findings = directories.output / FINDINGS_FILE
    findings.symlink_to(host_secret)  # the agent points the file at something only the host can read
    with pytest.raises(ReviewFindingsError, match="cannot be read as a file"):
        read_findings_file(directories)
    findings.unlink()
    findings.mkdir()
    with pytest.raises(ReviewFindingsError, match="not a regular file"):
        read_findings_file(directories)
    findings.rmdir()
    with pytest.raises(ReviewFindingsError, match="wrote no"):
        read_findings_file(directories)
