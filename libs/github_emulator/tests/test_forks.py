"""Forks: a user forks a repository, pushes to the fork and opens a pull request from `user:branch`;
the payloads carry the fork as `head.repo` (with `fork: true`), as GitHub's do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from githubkit.exception import RequestFailed
from githubkit.webhooks import parse

from paid_github_emulator.testing import WebhookReceiver

from .conftest import World
from .test_git_and_pulls import git
from .test_webhooks import subscribe


def fork_and_push(world: World, tmp_path: Path, branch: str, content: str) -> Path:
    fork = world.client(world.reader_token).rest.repos.create_fork(world.owner, world.repo).parsed_data
    assert (fork.full_name, fork.fork) == ("reader/widgets", True)
    checkout = tmp_path / "fork"
    cloned = git("clone", world.emu.git_url("reader", world.repo, world.reader_token), str(checkout))
    assert cloned.returncode == 0, cloned.stderr
    git("switch", "-c", branch, cwd=checkout)
    return commit_and_push(checkout, branch, content)


def commit_and_push(checkout: Path, branch: str, content: str) -> Path:
    (checkout / "src" / "widgets.py").write_text(content)
    git("add", "-A", cwd=checkout)
    assert git("commit", "-m", f"widgets: {content.strip()}", cwd=checkout).returncode == 0
    pushed = git("push", "origin", branch, cwd=checkout)
    assert pushed.returncode == 0, pushed.stderr
    return checkout


def test_pull_request_from_a_fork(world: World, receiver: WebhookReceiver, tmp_path: Path) -> None:
    subscribe(world, receiver.url, ["pull_request"])
    checkout = fork_and_push(world, tmp_path, "feature", "X = 3\n")
    head = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    assert world.emu.branch_sha(world.owner, world.repo, "feature") is None  # the branch is the fork's only

    reader = world.client(world.reader_token)
    pull = reader.rest.pulls.create(
        world.owner, world.repo, title="Widgets", head="reader:feature", base="main"
    ).parsed_data
    assert pull.head.repo is not None
    assert pull.base.repo is not None
    assert (pull.head.label, pull.head.ref, pull.head.sha) == ("reader:feature", "feature", head)
    assert (pull.head.repo.full_name, pull.head.repo.fork) == ("reader/widgets", True)
    assert (pull.base.repo.full_name, pull.base.repo.fork) == ("octo-org/widgets", False)
    files = world.owner_gh.rest.pulls.list_files(world.owner, world.repo, pull.number).parsed_data
    assert [(f.filename, f.additions) for f in files] == [("src/widgets.py", 1)]
    listed = world.owner_gh.rest.pulls.list(world.owner, world.repo, head="reader:feature").parsed_data
    assert [p.number for p in listed] == [pull.number]
    assert world.owner_gh.rest.pulls.list(world.owner, world.repo, head="octo-org:feature").parsed_data == []

    commit_and_push(checkout, "feature", "X = 4\n")  # a push to the fork moves the base's pull request
    moved = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    assert world.owner_gh.rest.pulls.get(world.owner, world.repo, pull.number).parsed_data.head.sha == moved

    _ping, opened, synchronized = receiver.wait_for(3)
    for delivery in (opened, synchronized):
        parse("pull_request", delivery.body)
    payload = json.loads(synchronized.body)
    assert (payload["action"], payload["after"]) == ("synchronize", moved)
    assert payload["repository"]["full_name"] == "octo-org/widgets"
    assert payload["pull_request"]["head"]["repo"]["full_name"] == "reader/widgets"
    assert payload["pull_request"]["head"]["repo"]["fork"] is True

    world.owner_gh.rest.pulls.merge(world.owner, world.repo, pull.number)
    assert world.emu.file_content(world.owner, world.repo, "src/widgets.py") == "X = 4\n"

    with pytest.raises(RequestFailed) as refused:  # nobody owns a fork named by `nobody:`
        world.owner_gh.rest.pulls.create(
            world.owner, world.repo, title="t", head="nobody:feature", base="main"
        )
    assert refused.value.response.status_code == 422
    again = reader.rest.repos.create_fork(world.owner, world.repo).parsed_data
    assert again.full_name == "reader/widgets"  # a second fork request answers the existing fork
    base_url = world.emu.git_url(world.owner, world.repo, world.reader_token)
    assert git("push", base_url, "feature", cwd=checkout).returncode != 0  # the fork is the only way in
