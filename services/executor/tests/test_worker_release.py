"""A worker that stops releases the runs it still holds (their agents killed, their overlay worktrees
unmounted, their files removed): its home queue stops with it, so they can never come back to it, and
a mount left behind outlives the run (and keeps its directory from being removed). Another worker's
runs in the same process are left alone. The test suite's guard against a test leaving a mount
behind releases only what appeared during the test."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from paid_contracts import IssueRef, RepoRef
from paid_devstack.mounts import mounts_under, release_new_mounts
from paid_executor.activities.deps import ExecutorDeps
from paid_executor.activities.worktrees import WorktreeActivities, release_runs
from paid_executor.config import ExecutorSettings
from paid_executor.params import RunContext
from paid_executor.run_workspace import RunWorkspace
from paid_executor.tree_overlay import _mount, can_mount_overlay

pytestmark = pytest.mark.skipif(
    not can_mount_overlay(Path("/tmp/paid-overlay-probe")),
    reason="needs permission to mount overlayfs (CAP_SYS_ADMIN)",
)


def settings_in(root: Path) -> ExecutorSettings:
    return ExecutorSettings(github_token="ghp_unused", workspace_root=root / "workspaces")


def worker(settings: ExecutorSettings, home_queue: str) -> WorktreeActivities:
    # Taking a workspace reads only the settings; nothing here reaches NATS, the database or GitHub.
    deps = ExecutorDeps(settings, *cast(list[Any], [None, None, None, None]))
    return WorktreeActivities(deps, home_queue=home_queue)


def run_context(number: int) -> RunContext:
    return RunContext(
        run_id=f"run-{number}",
        workflow_id=f"exec-alice-calc-{number}",
        issue=IssueRef(repo=RepoRef(owner="alice", name="calc"), number=number),
        agent="demo",
        prompt_version="v1",
        started_at=datetime.now(UTC),
    )


def prepared_with_agent(
    loop: WorktreeActivities, run: RunContext, base: Path
) -> tuple[RunWorkspace, subprocess.Popen[bytes]]:
    """What prepare_workspace and the agent leave: an overlay worktree, the host's repository and a
    running agent in a process group of its own."""
    workspace = loop.take_workspace(run)
    paths = workspace.paths
    for directory in (paths.worktree, paths.overlay_upper, paths.overlay_work, paths.host_git):
        directory.mkdir(parents=True)
    assert _mount(base, paths.overlay_upper, paths.overlay_work, paths.worktree)
    (paths.worktree / "agent-wrote.txt").write_text("work in progress")
    agent = subprocess.Popen(["sleep", "600"], start_new_session=True)
    paths.pgid_file.write_text(str(agent.pid))
    return workspace, agent


async def test_a_stopped_worker_releases_its_runs_and_leaves_another_workers_alone(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    settings = settings_in(tmp_path)
    stopped, running = worker(settings, "executor@host-a"), worker(settings, "executor@host-b")
    gone, gone_agent = prepared_with_agent(stopped, run_context(1), base)
    kept, kept_agent = prepared_with_agent(running, run_context(2), base)
    try:
        assert await release_runs("executor@host-a") == [gone.paths.worktree]

        assert gone_agent.wait(timeout=30) != 0  # killed, not finished
        assert mounts_under(gone.paths.run_dir) == []
        assert not gone.paths.run_dir.exists()
        assert (base / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"  # the lower layer
        assert mounts_under(tmp_path) == [kept.paths.worktree]
        assert (kept.paths.worktree / "agent-wrote.txt").read_text() == "work in progress"
        assert kept_agent.poll() is None
        assert await release_runs("executor@host-a") == []  # released once
    finally:
        await release_runs("executor@host-b")
        for agent in (gone_agent, kept_agent):
            agent.kill()
            agent.wait()
    assert mounts_under(tmp_path) == []


async def test_a_cleaned_up_run_is_no_longer_held(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    loop = worker(settings_in(tmp_path), "executor@host-a")
    run = run_context(3)
    workspace, agent = prepared_with_agent(loop, run, base)
    await loop.cleanup_workspace(run)
    agent.wait(timeout=30)
    assert mounts_under(workspace.paths.run_dir) == []
    assert await release_runs("executor@host-a") == []


def test_the_suites_guard_releases_only_the_mounts_made_during_a_test(tmp_path: Path) -> None:
    layers = {
        name: tmp_path / name for name in ("lower", "upper", "work", "earlier", "upper2", "work2", "left")
    }
    for layer in layers.values():
        layer.mkdir()
    assert _mount(layers["lower"], layers["upper"], layers["work"], layers["earlier"])
    before = set(mounts_under(tmp_path))
    assert _mount(layers["lower"], layers["upper2"], layers["work2"], layers["left"])
    try:
        assert release_new_mounts(tmp_path, before) == [layers["left"]]
        assert mounts_under(tmp_path) == [layers["earlier"]]
        assert release_new_mounts(tmp_path, before) == []
    finally:
        subprocess.run(["umount", "-l", str(layers["left"])], check=False, capture_output=True)
        subprocess.run(["umount", "-l", str(layers["earlier"])], check=False, capture_output=True)
