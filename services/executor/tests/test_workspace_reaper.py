"""The start-up reaper: a dead worker's run files (and its overlay mounts, and its agent) are removed;
a live worker's runs, and anything the executor did not mark as its own, are left alone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from paid_devstack import wait_until, wait_until_async
from paid_executor import workspace_owners, workspace_sweeper
from paid_executor.tree_overlay import _mount, can_mount_overlay, unmount_worktree
from paid_executor.workspace_owners import OWNERS_DIR, claim, mark_owned, reap_orphans
from paid_executor.workspace_sweeper import sweep_once, sweep_periodically

needs_overlay = pytest.mark.skipif(
    not can_mount_overlay(Path("/tmp/paid-overlay-probe")),
    reason="needs permission to mount overlayfs (CAP_SYS_ADMIN)",
)


class Worker:
    """A worker process (forked from the test: no interpreter start) that prepares one run, with an
    overlay worktree when `mount`, and starts its agent in a process group of its own, as the executor
    does; then it waits until it is killed."""

    def __init__(self, root: Path, base: Path, run_id: str, *, mount: bool) -> None:
        self.run_dir = root / f"exec-{run_id}"
        self.worktree = self.run_dir / run_id
        reader, writer = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the worker
            status = 1
            try:
                os.close(reader)
                workspace_owners._CLAIMS.clear()  # a process of its own, with its own claim
                os.write(writer, str(self._prepare(root, base, run_id, mount=mount)).encode() + b"\n")
                status = 0
                signal.pause()
            finally:
                os._exit(status)
        os.close(writer)
        with os.fdopen(reader) as announced:
            line = announced.readline()
        assert line, "the worker failed to prepare its run"
        self.agent_pid = int(line)

    def _prepare(self, root: Path, base: Path, run_id: str, *, mount: bool) -> int:
        mark_owned(root, self.run_dir, run_id)
        layers = [self.run_dir / f"{run_id}.upper", self.run_dir / f"{run_id}.overlay-work", self.worktree]
        for layer in layers:
            layer.mkdir(parents=True)
        if mount and not _mount(base, *layers):
            raise RuntimeError("overlay mount failed")
        (self.worktree / "agent-wrote.txt").write_text("work in progress")
        (self.run_dir / f"{run_id}.host.git").mkdir()
        agent = subprocess.Popen(["sleep", "600"], start_new_session=True)
        (self.run_dir / f"{run_id}.agent-pgid").write_text(str(agent.pid))
        return agent.pid

    def kill(self) -> None:
        """SIGKILL: no cleanup of its own, as when a worker is killed mid-run."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.fixture
def base(tmp_path: Path) -> Path:
    tree = tmp_path / "cache" / "trees" / "abc123"
    tree.mkdir(parents=True)
    (tree / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return tree


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    workspaces = tmp_path / "workspaces"
    workspaces.mkdir()
    yield workspaces
    for mounted in sorted(workspaces.glob("*/*"), reverse=True):
        if os.path.ismount(mounted):
            unmount_worktree(mounted)


def start(root: Path, base: Path, run_id: str, workers: list[Worker], *, mount: bool) -> Worker:
    worker = Worker(root, base, run_id, mount=mount)
    workers.append(worker)
    return worker


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()
        if running(worker.agent_pid):
            os.killpg(worker.agent_pid, signal.SIGKILL)


def test_a_dead_workers_run_is_removed_and_a_live_ones_kept(
    root: Path, base: Path, workers: list[Worker]
) -> None:
    dead = start(root, base, "run-dead", workers, mount=False)
    live = start(root, base, "run-live", workers, mount=False)
    unmarked = root / "exec-older" / "run-older"  # no owner marker: not the reaper's to judge
    unmarked.mkdir(parents=True)
    dead.kill()

    reaped = reap_orphans(root)

    assert reaped.runs == [dead.worktree.resolve()]
    assert not dead.run_dir.exists()
    wait_until(lambda: not running(dead.agent_pid), timeout=30, what="the dead worker's agent to be killed")
    assert (live.worktree / "agent-wrote.txt").read_text() == "work in progress"
    assert running(live.agent_pid)
    assert unmarked.is_dir()
    assert len(list((root / OWNERS_DIR).glob("*.lock"))) == 1  # the dead owner's lock is gone too


def test_this_processs_own_runs_are_never_reaped(root: Path) -> None:
    run_dir = root / "exec-mine"
    mark_owned(root, run_dir, "run-mine")
    (run_dir / "run-mine").mkdir()
    assert claim(root) == claim(root)

    assert reap_orphans(root).runs == []
    assert (run_dir / "run-mine").is_dir()


@needs_overlay
def test_a_dead_workers_overlay_is_unmounted_and_the_base_tree_untouched(
    root: Path, base: Path, workers: list[Worker]
) -> None:
    dead = start(root, base, "run-dead", workers, mount=True)
    live = start(root, base, "run-live", workers, mount=True)
    assert os.path.ismount(dead.worktree)
    dead.kill()

    reaped = reap_orphans(root)

    assert reaped.runs == [dead.worktree.resolve()]
    assert reaped.kept_mounted == []
    assert not os.path.ismount(dead.worktree)
    assert not dead.run_dir.exists()
    assert os.path.ismount(live.worktree)
    assert sorted(path.name for path in base.iterdir()) == ["calc.py"]  # the lower layer, as it was
    assert (base / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"


async def test_the_periodic_sweep_removes_a_worker_that_died_later_and_never_a_live_run(
    root: Path, base: Path, workers: list[Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    sweeps: list[workspace_owners.Reaped] = []

    def counted_sweep(root: Path) -> workspace_owners.Reaped:
        sweeps.append(sweep_once(root))
        return sweeps[-1]

    monkeypatch.setattr(workspace_sweeper, "sweep_once", counted_sweep)
    live = start(root, base, "run-live", workers, mount=False)
    dying = start(root, base, "run-dying", workers, mount=False)
    mine = root / "exec-mine"
    mark_owned(root, mine, "run-mine")  # a run of this (live) process, mid-way
    (mine / "run-mine").mkdir()
    sweeper = asyncio.create_task(sweep_periodically(root, every_seconds=0.05))
    try:
        await wait_until_async(lambda: len(sweeps) >= 2, timeout=30, what="two sweeps")
        assert dying.run_dir.is_dir()  # its worker lives: swept past, untouched
        dying.kill()  # dies after this process started, as a sibling replica would
        await wait_until_async(
            lambda: not dying.run_dir.exists(), timeout=30, what="the sweep of the dead run"
        )
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
    assert (live.worktree / "agent-wrote.txt").read_text() == "work in progress"
    assert running(live.agent_pid)
    assert (mine / "run-mine").is_dir()


def test_a_run_taken_over_after_the_reaper_looked_is_kept(
    root: Path, base: Path, workers: list[Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = start(root, base, "run-taken", workers, mount=False)
    dead.kill()
    is_alive = workspace_owners._is_alive

    def taken_over_meanwhile(lock: Path, held: list[int]) -> bool:
        alive = is_alive(lock, held)  # dead: the reaper will go for its run...
        mark_owned(root, dead.run_dir, "run-taken")  # ...which this live process takes over first
        return alive

    monkeypatch.setattr(workspace_owners, "_is_alive", taken_over_meanwhile)

    assert reap_orphans(root).runs == []
    assert (dead.worktree / "agent-wrote.txt").read_text() == "work in progress"
    assert (dead.run_dir / "run-taken.owner").read_text() == claim(root)
