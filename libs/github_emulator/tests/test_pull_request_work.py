"""Pull request work through an independent client (PyGithub): branch, file, PR, files, commits,
an inline review with a reply, and a squash merge that writes a real single-parent commit."""

from __future__ import annotations

import json
import sys

import pytest
from github import Auth, Github, GithubException
from github.CheckRun import CheckRun
from github.Commit import Commit
from github.ContentFile import ContentFile
from github.Repository import Repository

from paid_devstack import wait_until
from paid_github_emulator.testing import WebhookReceiver

from .conftest import World

PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def pygithub_repo(world: World, token: str) -> Repository:
    gh = Github(base_url=world.emu.api_url, auth=Auth.Token(token), retry=None)
    return gh.get_repo(f"{world.owner}/{world.repo}")


def ci_run(world: World, repo: Repository, sha: str) -> CheckRun:
    """The test CI's finished check run on `sha` (the CI reports asynchronously, as GitHub's do)."""

    def finished() -> bool:
        completed = world.emu.deliveries(event="check_run", action="completed")
        return any(json.loads(d.body)["check_run"]["head_sha"] == sha for d in completed)

    wait_until(finished, timeout=120, what=f"the test CI's check run on {sha}")
    (run,) = repo.get_commit(sha).get_check_runs(check_name="tests")
    return run


def test_branch_file_pull_review_ci_and_squash_merge(world: World, receiver: WebhookReceiver) -> None:
    world.emu.create_hook(world.owner, world.repo, receiver.url, events=["*"])
    world.emu.enable_test_ci(world.owner, world.repo, [*PYTEST, "test_widgets.py"])
    bot, owner = pygithub_repo(world, world.bot_token), pygithub_repo(world, world.owner_token)

    main = bot.get_branch("main")
    assert main.commit.sha == world.emu.branch_sha(world.owner, world.repo, "main")
    assert main.commit.commit.message == "Initial commit"
    created_ref = bot.create_git_ref("refs/heads/blue", main.commit.sha)
    assert (created_ref.ref, created_ref.object.sha) == ("refs/heads/blue", main.commit.sha)
    assert bot.get_git_ref("heads/blue").object.sha == main.commit.sha

    added = bot.create_file("NOTES.md", "Add notes", "Widgets are blue.\nAll of them.\n", branch="blue")
    content, commit = added["content"], added["commit"]
    assert isinstance(content, ContentFile)
    assert isinstance(commit, Commit)
    assert content.path == "NOTES.md"
    assert commit.parents[0].sha == main.commit.sha
    old = bot.get_contents("src/widgets.py", ref="blue")
    assert not isinstance(old, list)
    changed = bot.update_file(
        "src/widgets.py", "Blue widgets", "X = 2\nCOLOR = 'blue'\n", old.sha, branch="blue"
    )
    assert (
        world.emu.file_content(world.owner, world.repo, "src/widgets.py", "blue") == "X = 2\nCOLOR = 'blue'\n"
    )
    head = changed["commit"].sha
    assert ci_run(world, bot, head).conclusion == "failure"  # no test_widgets.py yet

    pull = bot.create_pull(base="main", head="blue", title="Make widgets blue", body="Paints them.")
    assert (pull.head.sha, pull.base.sha, pull.head.ref) == (head, main.commit.sha, "blue")
    files = {f.filename: f for f in pull.get_files()}
    assert {name: f.status for name, f in files.items()} == {
        "NOTES.md": "added",
        "src/widgets.py": "modified",
    }
    assert (files["src/widgets.py"].additions, files["src/widgets.py"].deletions) == (2, 1)
    assert "+COLOR = 'blue'" in files["src/widgets.py"].patch
    commits = list(pull.get_commits())
    assert [c.commit.message for c in commits] == ["Add notes", "Blue widgets"]
    assert commits[-1].sha == head
    assert commits[0].author.login == world.bot
    fresh = bot.get_pull(pull.number)
    assert (fresh.mergeable, fresh.mergeable_state, fresh.commits, fresh.changed_files) == (
        True,
        "clean",
        2,
        2,
    )

    reviewed = owner.get_pull(pull.number)
    review = reviewed.create_review(
        body="Two remarks.",
        event="COMMENT",
        comments=[
            {"path": "src/widgets.py", "line": 2, "side": "RIGHT", "body": "Why blue?"},
            {"path": "src/widgets.py", "line": 1, "side": "LEFT", "body": "X was 1 here."},
        ],
    )
    assert (review.state, review.user.login, review.commit_id) == ("COMMENTED", world.owner, head)
    inline = {c.body: c for c in reviewed.get_review_comments()}
    assert {(c.path, c.line, c.side) for c in inline.values()} == {
        ("src/widgets.py", 2, "RIGHT"),
        ("src/widgets.py", 1, "LEFT"),
    }
    assert inline["Why blue?"].pull_request_review_id == review.id
    answer = bot.get_pull(pull.number).create_review_comment_reply(
        inline["Why blue?"].id, "The issue asks for it."
    )
    assert answer.in_reply_to_id == inline["Why blue?"].id
    assert (answer.path, answer.line, answer.user.login) == ("src/widgets.py", 2, world.bot)
    with pytest.raises(GithubException) as outside:
        reviewed.create_review_comment(
            "Not in the diff", commits[-1], "src/widgets.py", line=40, side="RIGHT"
        )
    assert outside.value.status == 422
    # The test CI: a failing test, then a push that fixes it.
    test = "from src.widgets import COLOR\n\n\ndef test_colour():\n    assert COLOR == 'blue!'\n"
    failing = bot.create_file("test_widgets.py", "Test the colour", test, branch="blue")["commit"].sha
    red = ci_run(world, bot, failing)
    assert (red.conclusion, red.output.annotations_count) == ("failure", 1)
    (where,) = red.get_annotations()
    assert (where.path, where.start_line, where.annotation_level) == ("test_widgets.py", 5, "failure")
    assert "1 failed" in red.output.title
    blob = bot.get_contents("src/widgets.py", ref="blue")
    assert not isinstance(blob, list)
    fixed = bot.update_file("src/widgets.py", "Bluer", "X = 2\nCOLOR = 'blue!'\n", blob.sha, branch="blue")
    green = ci_run(world, bot, fixed["commit"].sha)
    assert (green.conclusion, green.output.annotations_count) == ("success", 0)
    assert "1 passed" in green.output.title
    assert [p.number for p in green.pull_requests] == [pull.number]
    assert bot.get_pull(pull.number).head.sha == fixed["commit"].sha

    approval = reviewed.create_review(event="APPROVE")
    assert [r.state for r in reviewed.get_reviews()][-1] == approval.state == "APPROVED"

    merged = bot.get_pull(pull.number).merge(merge_method="squash")
    assert merged.merged
    squash = bot.get_commit(merged.sha)
    assert [p.sha for p in squash.parents] == [main.commit.sha]
    assert squash.commit.message.startswith(f"Make widgets blue (#{pull.number})")
    assert bot.get_branch("main").commit.sha == merged.sha != head
    assert world.emu.file_content(world.owner, world.repo, "NOTES.md") == "Widgets are blue.\nAll of them.\n"
    assert world.emu.file_content(world.owner, world.repo, "src/widgets.py") == "X = 2\nCOLOR = 'blue!'\n"
    after = bot.get_pull(pull.number)
    assert (after.merged, after.merge_commit_sha, after.state) == (True, merged.sha, "closed")

    world.emu.wait_for_deliveries(1, event="pull_request", action="closed")
    sent = {(d.event, d.action) for d in world.emu.deliveries()}
    assert {
        ("create", None),
        ("push", None),
        ("pull_request", "opened"),
        ("pull_request", "synchronize"),
        ("check_run", "completed"),
        ("pull_request_review", "submitted"),
        ("pull_request_review_comment", "created"),
    } <= sent
    replies = [
        json.loads(d.body)["comment"] for d in world.emu.deliveries(event="pull_request_review_comment")
    ]
    assert [c.get("in_reply_to_id") for c in replies] == [None, None, inline["Why blue?"].id]


def test_requesting_changes_then_dismissing(world: World) -> None:
    bot, owner = pygithub_repo(world, world.bot_token), pygithub_repo(world, world.owner_token)
    sha = bot.get_branch("main").commit.sha
    bot.create_git_ref("refs/heads/fix", sha)
    bot.create_file("FIX.md", "Fix", "fixed\n", branch="fix")
    pull = owner.get_pull(bot.create_pull(base="main", head="fix", title="Fix").number)
    with pytest.raises(GithubException) as own:
        bot.get_pull(pull.number).create_review(event="APPROVE")
    assert own.value.status == 422
    asked = pull.create_review(body="Please add a test.", event="REQUEST_CHANGES")
    assert asked.state == "CHANGES_REQUESTED"
    asked.dismiss("Outdated.")
    assert pull.get_review(asked.id).state == "DISMISSED"
    pending = pull.create_review(body="Later.")
    assert pending.state == "PENDING"
    assert [r.id for r in pull.get_reviews()] == [asked.id]
