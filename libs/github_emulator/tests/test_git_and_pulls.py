"""Real git over smart HTTP with token auth, then pull requests for the pushed branch."""

from __future__ import annotations

import base64
import gzip
import subprocess
from pathlib import Path

import httpx
import pytest
from githubkit.exception import RequestFailed

from paid_github_emulator.git_repos import git_env

from .conftest import World


def git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = git_env(
        {
            "GIT_AUTHOR_NAME": "Paid Bot",
            "GIT_AUTHOR_EMAIL": "bot@example.test",
            "GIT_COMMITTER_NAME": "Paid Bot",
            "GIT_COMMITTER_EMAIL": "bot@example.test",
        }
    )
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def push_branch(world: World, workdir: Path, branch: str, token: str, content: str = "X = 2\n") -> Path:
    checkout = workdir / branch.replace("/", "-")
    cloned = git("clone", world.emu.git_url(world.owner, world.repo, token), str(checkout))
    assert cloned.returncode == 0, cloned.stderr
    git("switch", "-c", branch, cwd=checkout)
    (checkout / "src" / "widgets.py").write_text(content)
    (checkout / "NEW.md").write_text("new\n")
    git("add", "-A", cwd=checkout)
    assert git("commit", "-m", "Change widgets", cwd=checkout).returncode == 0
    pushed = git("push", "origin", branch, cwd=checkout)
    assert pushed.returncode == 0, pushed.stderr
    return checkout


def test_clone_push_and_open_pull_request(world: World, tmp_path: Path) -> None:
    checkout = push_branch(world, tmp_path, "paid/issue-1", world.bot_token)
    head = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    assert world.emu.branch_sha(world.owner, world.repo, "paid/issue-1") == head
    assert world.emu.file_content(world.owner, world.repo, "src/widgets.py", "paid/issue-1") == "X = 2\n"
    assert world.emu.file_content(world.owner, world.repo, "src/widgets.py") == "X = 1\n"

    gh = world.bot_gh
    world.owner_gh.rest.issues.create(world.owner, world.repo, title="Change widgets")
    pull = gh.rest.pulls.create(
        world.owner, world.repo, title="Fix #1", head="paid/issue-1", base="main", body="Closes #1"
    ).parsed_data
    assert pull.number == 2  # issues and pull requests share one sequence
    assert pull.user
    assert pull.user.login == "paid-bot"
    assert (pull.head.ref, pull.head.sha, pull.base.ref) == ("paid/issue-1", head, "main")
    assert (pull.commits, pull.additions, pull.deletions, pull.changed_files) == (1, 2, 1, 2)
    assert pull.html_url == f"{world.emu.base_url}/octo-org/widgets/pull/2"

    assert gh.rest.pulls.get(world.owner, world.repo, 2).parsed_data.title == "Fix #1"
    listed = gh.rest.pulls.list(world.owner, world.repo, head="octo-org:paid/issue-1").parsed_data
    assert [p.number for p in listed] == [2]
    assert gh.rest.pulls.list(world.owner, world.repo, base="develop").parsed_data == []
    as_issue = gh.rest.issues.get(world.owner, world.repo, 2).parsed_data
    assert as_issue.pull_request is not None

    closed = gh.rest.pulls.update(world.owner, world.repo, 2, title="Fix #1 (v2)", state="closed").parsed_data
    assert (closed.title, closed.state, closed.merged) == ("Fix #1 (v2)", "closed", False)
    assert gh.rest.pulls.list(world.owner, world.repo).parsed_data == []
    assert [p.number for p in gh.rest.pulls.list(world.owner, world.repo, state="closed").parsed_data] == [2]


def test_pull_request_validation_errors(world: World, tmp_path: Path) -> None:
    push_branch(world, tmp_path, "feature", world.bot_token)
    gh = world.bot_gh
    with pytest.raises(RequestFailed) as missing:
        gh.rest.pulls.create(world.owner, world.repo, title="x", head="no-such-branch", base="main")
    assert missing.value.response.status_code == 422
    assert missing.value.response.json()["errors"] == [
        {"resource": "PullRequest", "field": "head", "code": "invalid"}
    ]

    gh.rest.pulls.create(world.owner, world.repo, title="x", head="octo-org:feature", base="main")
    with pytest.raises(RequestFailed) as duplicate:
        gh.rest.pulls.create(world.owner, world.repo, title="again", head="feature", base="main")
    assert duplicate.value.response.status_code == 422
    body = duplicate.value.response.json()
    assert body["message"] == "Validation Failed"
    assert body["errors"][0]["message"] == "A pull request already exists for octo-org:feature."


def test_merge_moves_base_branch(world: World, tmp_path: Path) -> None:
    checkout = push_branch(world, tmp_path, "feature", world.bot_token)
    world.bot_gh.rest.pulls.create(world.owner, world.repo, title="x", head="feature", base="main")
    result = world.owner_gh.rest.pulls.merge(world.owner, world.repo, 1).parsed_data
    merged = world.owner_gh.rest.pulls.get(world.owner, world.repo, 1).parsed_data
    assert merged.merged
    assert merged.state == "closed"
    # GitHub's "merge" always writes a merge commit: the old base and the head are its parents.
    main = world.emu.branch_sha(world.owner, world.repo, "main")
    assert main == result.sha == world.emu.pulls(world.owner, world.repo)[0]["merge_commit_sha"]
    head = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    git("fetch", "origin", cwd=checkout)
    parents = git("rev-list", "--parents", "-n", "1", "origin/main", cwd=checkout).stdout.split()
    assert parents[0] == main
    assert parents[2] == head
    assert parents[1] == git("rev-parse", "HEAD~1", cwd=checkout).stdout.strip()


def test_git_auth_rules(world: World, tmp_path: Path) -> None:
    info_refs = f"{world.emu.git_url(world.owner, world.repo)}/info/refs"
    anonymous_push = httpx.get(info_refs, params={"service": "git-receive-pack"})
    assert anonymous_push.status_code == 401
    assert anonymous_push.headers["www-authenticate"].startswith("Basic")
    # Public repositories clone anonymously, as on GitHub.
    assert git("clone", world.emu.git_url(world.owner, world.repo), str(tmp_path / "anon")).returncode == 0

    checkout = tmp_path / "reader"
    assert (
        git("clone", world.emu.git_url(world.owner, world.repo, world.reader_token), str(checkout)).returncode
        == 0
    )
    (checkout / "x.txt").write_text("x")
    git("add", "-A", cwd=checkout)
    git("commit", "-m", "x", cwd=checkout)
    denied = git("push", "origin", "HEAD:refs/heads/reader-branch", cwd=checkout)
    assert denied.returncode != 0
    assert "403" in denied.stderr
    assert world.emu.branch_sha(world.owner, world.repo, "reader-branch") is None

    world.emu.create_repository(world.owner, "secret", {"a.txt": "a"}, private=True)
    assert git("clone", world.emu.git_url(world.owner, "secret"), str(tmp_path / "s1")).returncode != 0
    assert (
        git(
            "clone", world.emu.git_url(world.owner, "secret", world.owner_token), str(tmp_path / "s2")
        ).returncode
        == 0
    )


def test_fetch_with_many_local_commits(world: World, tmp_path: Path) -> None:
    """A client with many local commits negotiates over several rounds of `have` lines."""
    local = tmp_path / "local"
    git("clone", world.emu.git_url(world.owner, world.repo, world.bot_token), str(local))
    for n in range(200):
        git("commit", "--allow-empty", "-m", f"local {n}", cwd=local)
    push_branch(world, tmp_path, "upstream-change", world.bot_token)

    fetched = subprocess.run(
        ["git", "fetch", "origin", "upstream-change"], cwd=local, capture_output=True, text=True, check=False
    )
    assert fetched.returncode == 0, fetched.stderr
    expected = world.emu.branch_sha(world.owner, world.repo, "upstream-change")
    assert git("rev-parse", "FETCH_HEAD", cwd=local).stdout.strip() == expected


def test_a_gzipped_upload_pack_request_is_inflated(world: World) -> None:
    """git gzips negotiation requests over about 1 KiB, and http-backend must see them inflated. Sent
    directly, so that the test does not depend on how many rounds a real client's negotiation takes."""
    remote = world.emu.git_url(world.owner, world.repo, world.bot_token)
    head = git("ls-remote", remote, "HEAD").stdout.split()[0]
    haves = "".join(pkt(f"have {n:040x}\n") for n in range(1, 40))  # unknown commits: a large body
    body = pkt(f"want {head}\n") + "0000" + haves + pkt("done\n")
    credentials = base64.b64encode(f"x-access-token:{world.bot_token}".encode()).decode()
    response = httpx.post(
        world.emu.git_url(world.owner, world.repo) + "/git-upload-pack",
        content=gzip.compress(body.encode()),
        headers={
            "Content-Type": "application/x-git-upload-pack-request",
            "Content-Encoding": "gzip",
            "Authorization": f"Basic {credentials}",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert b"PACK" in response.content, "a pack file for the wanted commit"


def pkt(line: str) -> str:
    """A git pkt-line: four hex digits of length (themselves included), then the line."""
    return f"{len(line) + 4:04x}{line}"


def test_merging_into_the_default_branch_closes_the_issues_the_body_closes(
    world: World, tmp_path: Path
) -> None:
    closed = world.emu.create_issue(world.owner, world.repo, title="a", body="", as_user=world.owner)
    mentioned = world.emu.create_issue(world.owner, world.repo, title="b", body="", as_user=world.owner)
    push_branch(world, tmp_path, "feature", world.bot_token)
    body = f"Fixes #{closed['number']}; see #{mentioned['number']}"
    pull = world.bot_gh.rest.pulls.create(
        world.owner, world.repo, title="x", head="feature", base="main", body=body
    )
    assert world.emu.issue(world.owner, world.repo, closed["number"])["state"] == "open"  # not merged yet
    world.owner_gh.rest.pulls.merge(world.owner, world.repo, pull.parsed_data.number)
    first = world.emu.issue(world.owner, world.repo, closed["number"])
    assert (first["state"], first["state_reason"]) == ("closed", "completed")
    assert world.emu.issue(world.owner, world.repo, mentioned["number"])["state"] == "open"
