"""The host's repository cache: one mirror per repository, fetched incrementally, reused after a
restart, rebuilt when corrupt, bounded in size; and a run's repositories never point into it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paid_contracts import IssueRef, RepoRef
from paid_executor.config import ExecutorSettings
from paid_executor.host_repository import HostRepository
from paid_executor.params import IssueDetails, RunContext
from paid_executor.repository_cache import PIN_GRACE_SECONDS, RepositoryCache
from paid_executor.run_workspace import RunWorkspace
from paid_executor.sandbox.bwrap import bwrap_path
from paid_executor.sandbox.cgroup import pids_cgroup_root
from paid_executor.workspace import Identity

from .conftest import git
from .test_sandbox_escapes import sandboxed


def make_origin(path: Path, files: int = 3) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    for index in range(files):
        (path / f"file{index}.txt").write_text(f"content {index}\n" * 50)
    (path / ".paid.yml").write_text("max_iterations: 2\n")
    git(path, "add", "-A")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


def commit(origin: Path, name: str, text: str) -> str:
    (origin / name).write_text(text)
    git(origin, "add", "-A")
    git(origin, "commit", "--quiet", "-m", f"change {name}")
    return git(origin, "rev-parse", "HEAD").strip()


def files_of(root: Path) -> dict[str, str]:
    """Every file under root with a hash of its content: what 'unchanged' means for a mirror."""
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def mirror_git(mirror: Path, *args: str) -> str:
    return git(mirror, f"--git-dir={mirror}", *args)


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    return make_origin(tmp_path / "origin")


async def checked_out(cache: RepositoryCache, origin: Path, run_dir: Path) -> tuple[HostRepository, str]:
    host = HostRepository(run_dir / "host.git", identity=Identity("Paid", "p@x"))
    mirrored = await cache.refresh(str(origin), "main", pin=host.git_dir)
    await host.attach_base(mirrored.mirror, mirrored.base_sha)
    await host.check_out(run_dir / "worktree", "paid/issue-1", public_url="https://example.invalid/r.git")
    return host, mirrored.base_sha


async def test_a_run_gets_its_base_from_the_mirror_in_a_repository_of_its_own(
    origin: Path, tmp_path: Path
) -> None:
    cache = RepositoryCache(tmp_path / "cache", max_bytes=10**9)
    host, base = await checked_out(cache, origin, tmp_path / "run")
    worktree = tmp_path / "run" / "worktree"
    assert base == git(origin, "rev-parse", "HEAD").strip()
    assert git(worktree, "rev-parse", "HEAD").strip() == base
    assert (worktree / "file1.txt").read_text() == (origin / "file1.txt").read_text()
    git(worktree, "fsck", "--strict")  # complete on its own: no object borrowed from anywhere
    assert not (worktree / ".git" / "objects" / "info" / "alternates").exists()
    mirror = cache.mirror_path(str(origin))
    for path in files_of(worktree / ".git"):
        content = (worktree / ".git" / path).read_bytes()
        assert str(mirror).encode() not in content, path
        assert str(cache.root).encode() not in content, path
    # The host's repository borrows the mirror's objects rather than copying them.
    assert not [name for name in os.listdir(host.git_dir / "objects") if len(name) == 2]
    assert await host.resolve("refs/paid/base") == base


async def test_fetches_are_incremental_and_a_restart_reuses_the_mirror(origin: Path, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    first = await RepositoryCache(root, max_bytes=10**9).refresh(str(origin), "main")
    before = files_of(first.mirror / "objects")
    head = commit(origin, "new.txt", "new\n")

    restarted = RepositoryCache(root, max_bytes=10**9)  # a new worker process on the same host
    second = await restarted.refresh(str(origin), "main")

    assert second.mirror == first.mirror
    assert second.base_sha == head != first.base_sha
    after = files_of(second.mirror / "objects")
    assert before.items() <= after.items(), "the mirror was fetched anew instead of reused"
    assert mirror_git(second.mirror, "cat-file", "-t", first.base_sha).strip() == "commit"


async def test_a_mirror_damaged_on_disk_is_detected_after_a_restart_and_rebuilt(
    origin: Path, tmp_path: Path
) -> None:
    root = tmp_path / "cache"
    mirrored = await RepositoryCache(root, max_bytes=10**9).refresh(str(origin), "main")
    tree = mirror_git(mirrored.mirror, "rev-parse", f"{mirrored.base_sha}^{{tree}}").strip()
    damaged = [path for path in (mirrored.mirror / "objects").rglob("*") if path.is_file()]
    assert damaged
    for path in damaged:  # every object file: whatever git stored the tree in is now unreadable
        path.chmod(0o644)
        path.write_bytes(b"not an object")

    restarted = RepositoryCache(root, max_bytes=10**9)
    _, base = await checked_out(restarted, origin, tmp_path / "run")

    assert base == mirrored.base_sha
    mirror_git(mirrored.mirror, "fsck", "--strict")
    assert mirror_git(mirrored.mirror, "rev-parse", f"{base}^{{tree}}").strip() == tree
    assert (tmp_path / "run" / "worktree" / "file0.txt").read_text() == (origin / "file0.txt").read_text()


async def test_a_corrupt_object_found_while_checking_out_rebuilds_the_mirror_once(
    origin: Path, tmp_path: Path
) -> None:
    """A damaged blob passes the cheap check a mirror gets on first use; the copy fails, a full check
    finds the damage, and the run's workspace is prepared again from a rebuilt mirror."""
    settings = ExecutorSettings(workspace_root=tmp_path / "ws", repository_cache_root=tmp_path / "cache")
    run = RunContext(
        run_id="run-1",
        workflow_id="exec:alice/calc#1:1",
        issue=IssueRef(repo=RepoRef(owner="alice", name="calc"), number=1),
        agent="demo",
        prompt_version="v1",
        started_at=datetime.now(UTC),
    )
    issue = IssueDetails(
        title="t",
        body=None,
        html_url="https://x/1",
        state="open",
        default_branch="main",
        clone_url=str(origin),
    )
    workspace = RunWorkspace(settings, run)
    mirrored = await workspace.cache.refresh(str(origin), "main")
    blob = mirror_git(mirrored.mirror, "rev-parse", f"{mirrored.base_sha}:file1.txt").strip()
    loose = mirrored.mirror / "objects" / blob[:2] / blob[2:]
    assert loose.exists(), "a fetch this small is stored as loose objects (fetch.unpackLimit)"
    loose.chmod(0o644)
    loose.write_bytes(b"x" * 40)

    try:
        prepared = await workspace.prepare(issue, "paid/issue-1", token="")

        assert prepared.base_sha == mirrored.base_sha
        assert prepared.config is not None
        assert prepared.config.max_iterations == 2
        assert (workspace.paths.worktree / "file1.txt").read_text() == (origin / "file1.txt").read_text()
        mirror_git(mirrored.mirror, "fsck", "--strict")
    finally:
        workspace.cleanup()


async def test_the_size_cap_evicts_mirrors_no_live_run_pins_oldest_first(tmp_path: Path) -> None:
    # Every mirror is over the cap, and every refresh collects.
    cache = RepositoryCache(tmp_path / "cache", max_bytes=1, housekeeping_seconds=0)
    first_origin = make_origin(tmp_path / "first")
    second_origin = make_origin(tmp_path / "second")
    run_dir = tmp_path / "run"
    await checked_out(cache, first_origin, run_dir)
    first = cache.mirror_path(str(first_origin))

    await cache.refresh(str(second_origin), "main")
    assert first.exists(), "a mirror a live run pins was evicted"

    shutil.rmtree(run_dir)  # the run is cleaned up; its pin is older than the grace
    for pin in (first / "paid-pins").iterdir():
        os.utime(pin, (time.time() - PIN_GRACE_SECONDS - 1,) * 2)
    await cache.refresh(str(second_origin), "main")

    assert not first.exists()
    assert cache.mirror_path(str(second_origin)).exists(), "the mirror just used is kept"
    assert not list(cache.root.glob("*.removing-*"))


async def test_runs_on_many_repositories_walk_the_cache_once_a_period(tmp_path: Path) -> None:
    # A collection walks every mirror and base tree: one per period for the cache, not per mirror.
    cache = RepositoryCache(tmp_path / "cache", max_bytes=10**9, housekeeping_seconds=3600)
    walked: list[Path | None] = []
    collect = cache.collect

    async def counted(*, keep: Path | None = None) -> list[Path]:
        walked.append(keep)
        return await collect(keep=keep)

    cache.collect = counted  # type: ignore[method-assign]
    origins = [make_origin(tmp_path / f"origin-{n}") for n in range(3)]
    for origin in origins:
        await cache.refresh(str(origin), "main")
    assert walked == [cache.mirror_path(str(origins[0]))]
    cache.housekeeping_seconds = 0
    await cache.refresh(str(origins[1]), "main")
    assert walked[1:] == [cache.mirror_path(str(origins[1]))]


HOSTILE = """
import json, os, pathlib, subprocess
mirror = pathlib.Path({mirror!r})
report = {{}}
def attempt(name, action):
    try:
        action()
        report[name] = 'done'
    except Exception as error:
        report[name] = type(error).__name__
def plant(path, text):
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(path).write_text(text)
attempt('write-pack', lambda: (mirror / 'objects' / 'pack' / 'evil.pack').write_bytes(b'PACK'))
attempt('write-ref', lambda: (mirror / 'refs' / 'heads' / 'main').write_text('0' * 40 + '\\n'))
attempt('write-config', lambda: open(mirror / 'config', 'a').write('[core]\\n\\tfsmonitor = evil\\n'))
plant('.git/objects/info/alternates', str(mirror / 'objects') + '\\n')
os.symlink(mirror / 'objects', 'mirror-objects')
attempt('write-through-link', lambda: pathlib.Path('mirror-objects/evil').write_text('x'))
attempt('git-write-object', lambda: subprocess.run(
    ['git', '--git-dir', str(mirror), 'hash-object', '-w', '--stdin'], input=b'evil', check=True))
pathlib.Path('report.json').write_text(json.dumps(report))
"""


@pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed")
async def test_an_agent_cannot_write_the_mirror_and_the_next_run_gets_it_intact(
    origin: Path, tmp_path: Path
) -> None:
    if pids_cgroup_root() is None:
        pytest.skip("needs a writable cgroup pids controller (bwrap refuses to start as root without one)")
    cache = RepositoryCache(tmp_path / "cache", max_bytes=10**9)
    mirror = cache.mirror_path(str(origin))
    await checked_out(cache, origin, tmp_path)  # the worktree the sandbox helper runs in
    before = files_of(mirror)

    outcome = await sandboxed("bwrap", "", tmp_path, HOSTILE.format(mirror=str(mirror)))

    report = json.loads((tmp_path / "worktree" / "report.json").read_text())
    assert outcome.exit_code == 0, outcome
    assert "done" not in report.values(), report
    assert set(files_of(mirror)) - set(before) == set(), "the agent added files to the mirror"
    assert files_of(mirror) == before, "the agent changed the mirror"
    mirror_git(mirror, "fsck", "--strict")
    _, base = await checked_out(cache, origin, tmp_path / "next")
    assert base == git(origin, "rev-parse", "HEAD").strip()
    assert not (tmp_path / "next" / "worktree" / ".git" / "objects" / "info" / "alternates").exists()
