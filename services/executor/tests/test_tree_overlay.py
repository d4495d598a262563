"""Copy-on-write worktrees: runs on one base share a read-only base tree through overlayfs mounts;
what a run (or a hostile agent in the sandbox) writes never reaches the base tree or another run;
without the overlay, runs get their own copy."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from paid_contracts import IssueRef, RepoRef
from paid_executor.config import ExecutorSettings
from paid_executor.host_repository import HostRepository
from paid_executor.params import IssueDetails, RunContext
from paid_executor.repo_config import RepoConfig
from paid_executor.repository_cache import TREES_DIR, RepositoryCache
from paid_executor.run_workspace import RunWorkspace
from paid_executor.sandbox.bwrap import bwrap_path
from paid_executor.sandbox.cgroup import pids_cgroup_root
from paid_executor.tree_overlay import Driver, OverlayTrees, can_mount_overlay, unmount_worktree
from paid_executor.workspace import Identity

from .conftest import git
from .test_repository_cache import files_of, make_origin
from .test_sandbox_escapes import sandboxed

PROBE = Path("/tmp/paid-overlay-probe")
needs_overlay = pytest.mark.skipif(
    not can_mount_overlay(PROBE), reason="needs permission to mount overlayfs (CAP_SYS_ADMIN)"
)
# Each overlay driver where this host has it: the kernel's, and fuse-overlayfs (where the executor
# may not mount).
overlay_drivers = pytest.mark.parametrize(
    "driver",
    [
        pytest.param("kernel", marks=needs_overlay),
        pytest.param(
            "fuse",
            marks=pytest.mark.skipif(
                not can_mount_overlay(PROBE, "fuse"),
                reason="needs fuse-overlayfs (the Debian package) and /dev/fuse",
            ),
        ),
    ],
)


FILESYSTEMS = {"kernel": "overlay", "fuse": "fuse.fuse-overlayfs"}


def mount_type(path: Path) -> str | None:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[1] == str(path):
            return fields[2]
    return None


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    return make_origin(tmp_path / "origin")


@pytest.fixture
async def workspaces(tmp_path: Path, origin: Path) -> AsyncIterator[Callable[..., RunWorkspace]]:
    made: list[RunWorkspace] = []

    def make(run_id: str, *, overlay: bool = True, driver: Driver = "kernel") -> RunWorkspace:
        settings = ExecutorSettings(
            workspace_root=tmp_path / "ws",
            repository_cache_root=tmp_path / "cache",
            worktree_overlay=overlay,
            worktree_overlay_driver=driver,
        )
        run = RunContext(
            run_id=run_id,
            workflow_id=f"exec:alice/calc#{run_id}:1",
            issue=IssueRef(repo=RepoRef(owner="alice", name="calc"), number=1),
            agent="demo",
            prompt_version="v1",
            started_at=datetime.now(UTC),
        )
        made.append(RunWorkspace(settings, run))
        return made[-1]

    yield make
    for workspace in made:
        workspace.cleanup()


def details(origin: Path) -> IssueDetails:
    return IssueDetails(
        title="t",
        body=None,
        html_url="https://x/1",
        state="open",
        default_branch="main",
        clone_url=str(origin),
    )


@overlay_drivers
async def test_runs_share_a_base_tree_that_their_writes_never_reach(
    workspaces: Callable[..., RunWorkspace], origin: Path, tmp_path: Path, driver: Driver
) -> None:
    first, second = workspaces("run-1", driver=driver), workspaces("run-2", driver=driver)
    prepared = await first.prepare(details(origin), "paid/issue-1", token="")
    await second.prepare(details(origin), "paid/issue-1", token="")
    tree = tmp_path / "cache" / TREES_DIR / prepared.base_sha
    assert mount_type(first.paths.worktree) == mount_type(second.paths.worktree) == FILESYSTEMS[driver]
    before = files_of(tree)
    assert git(first.paths.worktree, "rev-parse", "--abbrev-ref", "HEAD").strip() == "paid/issue-1"

    worktree = first.paths.worktree
    (worktree / "file0.txt").write_text("changed\n")
    (worktree / "file1.txt").unlink()
    (worktree / "new.txt").write_text("new\n")
    (worktree / ".git" / "config").write_text("[core]\n\tfsmonitor = evil\n")
    imported = await first.import_change(prepared.base_sha, "m", RepoConfig())

    assert sorted(imported.changed_files) == ["file0.txt", "file1.txt", "new.txt"]
    assert files_of(tree) == before, "a run's write reached the base tree"
    assert (second.paths.worktree / "file0.txt").read_text() == (origin / "file0.txt").read_text()
    assert (second.paths.worktree / "file1.txt").exists()
    assert not (second.paths.worktree / "new.txt").exists()
    git(second.paths.worktree, "fsck")
    assert git(second.paths.worktree, "status", "--porcelain") == ""
    assert "file0.txt" in git(first.paths.worktree, "status", "--porcelain")

    assert await OverlayTrees(tmp_path / "cache" / TREES_DIR).evict_unused() == [], "evicted under a run"
    unmount_worktree(second.paths.worktree)  # as after a reboot: an empty directory is left
    assert not second.exists(), "a lost mount's empty directory taken for the run's tree"
    first.cleanup()
    second.cleanup()
    assert not os.path.ismount(first.paths.worktree)
    assert not first.paths.overlay_upper.exists()
    evicted = await RepositoryCache(tmp_path / "cache", max_bytes=1).collect()
    assert tree in evicted, "a base tree no run mounts stays over the size cap"


async def test_without_the_overlay_a_run_gets_its_own_copy(
    workspaces: Callable[..., RunWorkspace], origin: Path
) -> None:
    workspace = workspaces("run-1", overlay=False)
    await workspace.prepare(details(origin), "paid/issue-1", token="")
    assert not os.path.ismount(workspace.paths.worktree)
    assert (workspace.paths.worktree / "file2.txt").read_text() == (origin / "file2.txt").read_text()
    git(workspace.paths.worktree, "fsck", "--strict")


HOSTILE = """
import json, pathlib
base = pathlib.Path({base!r})
report = {{}}
for name, action in (
    ('write-base-file', lambda: (base / 'file0.txt').write_text('evil')),
    ('write-base-git', lambda: (base / '.git' / 'config').write_text('evil')),
):
    try:
        action()
        report[name] = 'done'
    except OSError as error:
        report[name] = type(error).__name__
pathlib.Path('file0.txt').write_text('the agent was here')
pathlib.Path('file1.txt').unlink()
pathlib.Path('.git/HEAD').write_text('ref: refs/heads/evil\\n')
pathlib.Path('report.json').write_text(json.dumps(report))
"""


@overlay_drivers
@pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed")
async def test_an_agent_in_the_sandbox_cannot_write_the_base_tree(
    origin: Path, tmp_path: Path, driver: Driver
) -> None:
    if pids_cgroup_root() is None:
        pytest.skip("needs a writable cgroup pids controller (bwrap refuses to start as root without one)")
    cache = RepositoryCache(tmp_path / "cache", max_bytes=10**9)
    host = HostRepository(tmp_path / "host.git", identity=Identity("Paid", "p@x"))
    mirrored = await cache.refresh(str(origin), "main", pin=host.git_dir)
    await host.attach_base(mirrored.mirror, mirrored.base_sha)
    trees = OverlayTrees(tmp_path / "cache" / TREES_DIR, driver)
    base = await trees.base_tree(host)
    worktree = tmp_path / "worktree"  # where the sandbox helper runs its agent
    assert await trees.mount(base, worktree, tmp_path / "upper", tmp_path / "work")
    before = files_of(base)
    try:
        outcome = await sandboxed("bwrap", "", tmp_path, HOSTILE.format(base=str(base)))
        report = json.loads((worktree / "report.json").read_text())
    finally:
        unmount_worktree(worktree)

    assert outcome.exit_code == 0, outcome
    assert "done" not in report.values(), report
    assert files_of(base) == before, "the agent changed the base tree"
    assert (tmp_path / "upper" / "file0.txt").read_text() == "the agent was here"


async def test_a_base_tree_holds_the_commit_the_host_gives_the_agent_whatever_the_caller_thinks(
    origin: Path, tmp_path: Path
) -> None:
    """A follow-up round moves the host's paid-base to a pull request's head: the tree it gets must be
    that commit's, under that commit's name, never the base's name with the head's files."""
    cache = RepositoryCache(tmp_path / "cache", max_bytes=10**9)
    host = HostRepository(tmp_path / "host.git", identity=Identity("Paid", "p@x"))
    first = await cache.refresh(str(origin), "main", pin=host.git_dir)
    git(origin, "checkout", "--quiet", "-b", "head")
    (origin / "file0.txt").write_text("on the head\n")
    git(origin, "commit", "--quiet", "-am", "head")
    head = await cache.refresh(str(origin), "head")
    await host.attach_base(head.mirror, first.base_sha)
    await host.git("update-ref", "refs/heads/paid-base", head.base_sha)

    tree = await OverlayTrees(tmp_path / "cache" / TREES_DIR).base_tree(host)

    assert tree.name == head.base_sha
    assert (tree / "file0.txt").read_text() == "on the head\n"
