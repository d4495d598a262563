"""A run whose base GitHub reported beside the issue gets its tree without a fetch when the host's
mirror already holds that commit, and fetches (under the mirror's lock, with a token) when it does
not. Only a full commit id the mirror holds is taken: a ref name, an expression, another kind of
object, or a commit only a run's own repository holds makes it fetch the branch as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from githubkit import GitHub, TokenAuthStrategy

from paid_executor.activities.github import repository_and_tip
from paid_executor.host_repository import HostRepository
from paid_executor.repository_cache import RepositoryCache
from paid_executor.workspace import GitError, Identity
from paid_github_emulator.server import GitHubEmulator

from .conftest import TOKEN, git
from .test_repository_cache import commit, make_origin, mirror_git


class CountingToken:
    def __init__(self) -> None:
        self.asked = 0

    async def __call__(self) -> str:
        self.asked += 1
        return ""


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    return make_origin(tmp_path / "origin")


async def test_a_base_the_mirror_holds_is_taken_without_a_fetch_or_a_token(
    origin: Path, tmp_path: Path
) -> None:
    cache = RepositoryCache(tmp_path / "cache", max_bytes=10**9)
    first = await cache.refresh(str(origin), "main")
    shutil.rmtree(origin)  # any fetch would now fail
    token = CountingToken()
    host = HostRepository(tmp_path / "run" / "host.git", identity=Identity("Paid", "p@x"))

    held = await cache.refresh(str(origin), "main", token=token, pin=host.git_dir, known_base=first.base_sha)

    assert held.base_sha == first.base_sha
    assert token.asked == 0
    await host.attach_base(held.mirror, held.base_sha)
    await host.check_out(tmp_path / "run" / "worktree", "paid/issue-1", public_url="https://x.invalid/r.git")
    assert git(tmp_path / "run" / "worktree", "rev-parse", "HEAD").strip() == first.base_sha


async def test_a_base_the_mirror_lacks_is_fetched_with_the_token(origin: Path, tmp_path: Path) -> None:
    cache = RepositoryCache(tmp_path / "cache", max_bytes=10**9)
    await cache.refresh(str(origin), "main")
    pushed = commit(origin, "new.txt", "new\n")
    token = CountingToken()

    fetched = await cache.refresh(str(origin), "main", token=token, known_base=pushed)

    assert fetched.base_sha == pushed
    assert token.asked == 1
    assert mirror_git(fetched.mirror, "rev-parse", "refs/heads/main").strip() == pushed


def not_trusted_bases(mirror: Path, run_commit: str, planted: Path) -> dict[str, str]:
    """What a run, a stale mirror or a bad answer could put where GitHub's commit id belongs."""
    pin = mirror_git(mirror, "for-each-ref", "--format=%(refname)", "refs/paid/pins").split()[0]
    tip = mirror_git(mirror, "rev-parse", "refs/heads/main").strip()
    return {
        "the mirror's branch ref": "refs/heads/main",
        "a run's pin ref in the mirror": pin,
        "an expression": "HEAD~0",
        "an abbreviated id": tip[:12],
        "an upper-case id": tip.upper(),
        "an option": f"--output={planted}",
        "a tree, not a commit": mirror_git(mirror, "rev-parse", f"{tip}^{{tree}}").strip(),
        "a commit only a run's own repository holds": run_commit,
    }


async def test_nothing_but_a_commit_id_the_mirror_holds_skips_the_fetch(origin: Path, tmp_path: Path) -> None:
    cache = RepositoryCache(tmp_path / "cache", max_bytes=10**9)
    host = HostRepository(tmp_path / "run" / "host.git", identity=Identity("Paid", "p@x"))
    first = await cache.refresh(str(origin), "main", pin=host.git_dir)
    await host.attach_base(first.mirror, first.base_sha)
    # A run's repository borrows the mirror's objects; what it writes stays its own.
    tree = (await host.git("rev-parse", f"{first.base_sha}^{{tree}}")).decode().strip()
    run_commit = await host.commit_tree(tree, (first.base_sha,), "written by a run")
    # The mirror's branch ref is behind: only a fetch finds the branch's real tip.
    pushed = commit(origin, "new.txt", "new\n")
    planted = tmp_path / "planted"
    for reason, untrusted in not_trusted_bases(first.mirror, run_commit, planted).items():
        mirror_git(first.mirror, "update-ref", "refs/heads/main", first.base_sha)
        token = CountingToken()
        answered = await cache.refresh(str(origin), "main", token=token, known_base=untrusted)
        assert (answered.base_sha, token.asked) == (pushed, 1), reason
    assert not planted.exists()


async def test_a_missing_base_still_fails_clearly_when_the_remote_is_gone(
    origin: Path, tmp_path: Path
) -> None:
    cache = RepositoryCache(tmp_path / "cache", max_bytes=10**9)
    await cache.refresh(str(origin), "main")
    unknown = "0123456789abcdef0123456789abcdef01234567"
    shutil.rmtree(origin)
    with pytest.raises(GitError, match="fetch"):
        await cache.refresh(str(origin), "main", known_base=unknown)


async def test_the_issue_read_carries_the_default_branch_commit(emulator: GitHubEmulator) -> None:
    emulator.add_user("alice", TOKEN)
    emulator.create_repository("alice", "tip", {"a.txt": "a\n"})
    async with GitHub(TokenAuthStrategy(TOKEN), base_url=emulator.api_url) as github:
        repository, tip = await repository_and_tip(github, "alice", "tip")
    assert repository.default_branch == "main"
    assert tip is not None
    assert tip == emulator.branch_sha("alice", "tip", "main")
