"""Which worker process on this host owns each run's files, and the start-up reaper that removes the
files (and unmounts the overlays) of runs whose owning process is gone.

A worker claims ownership once per workspace root: it holds an exclusive `flock` on
`<root>/.owners/<id>.lock` for its whole life (the file appears only once locked: it is made under a
temporary name and renamed), and writes `<run_id>.owner` holding `<id>` beside each run's worktree it
prepares. The kernel drops the lock when the process dies, however it dies, so a lock that can be
taken belongs to a dead worker. Its runs can never come back to it: a restarted worker polls a new
home queue (worker.home_queue_for), and a run whose worktree is missing is prepared again elsewhere.

The reaper only touches what carries an owner marker written here: a run directory without one (an
older version's, or anything else under the root) is left alone, and only a run's own worktree path,
beside the `.upper` directory of the overlay made for it, is unmounted. A worktree that stays mounted
after a lazy unmount is left in place rather than deleted through the mount.

The reaper runs at start-up and then periodically (workspace_sweeper), while this host's workers are
preparing runs. A run is taken over by writing its marker under `<root>/.owners/markers.mutex`, and
the reaper reads a run's marker again under the same lock before removing anything: a run a live
worker took over after the reaper first looked is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from paid_executor.agents.process import kill_recorded_group
from paid_executor.tree_overlay import unmount_worktree

OWNERS_DIR = ".owners"
OWNER_SUFFIX = ".owner"
MARKERS_MUTEX = "markers.mutex"  # not `*.lock`: those are the owners' locks
log = logging.getLogger(__name__)
_CLAIMS: dict[Path, str] = {}  # workspace root -> this process's owner id (its lock stays open)


def claim(root: Path) -> str:
    """This process's owner id under `root`, its lock taken on first use and held until it exits."""
    root = root.resolve()
    if root not in _CLAIMS:
        owners = root / OWNERS_DIR
        owners.mkdir(parents=True, exist_ok=True)
        owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        partial = owners / f".{owner}.partial"
        descriptor = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh file: nobody else holds it
        partial.rename(owners / f"{owner}.lock")
        _CLAIMS[root] = owner
    return _CLAIMS[root]


def mark_owned(root: Path, run_dir: Path, run_id: str) -> None:
    """Records that this process owns the run's files (taking them over from any earlier owner)."""
    owner = claim(root)
    with _markers_locked(root):
        run_dir.mkdir(parents=True, exist_ok=True)
        marker = run_dir / f"{run_id}{OWNER_SUFFIX}"
        partial = run_dir / f".{run_id}{OWNER_SUFFIX}.{secrets.token_hex(4)}"
        partial.write_text(owner)
        partial.replace(marker)


@contextlib.contextmanager
def _markers_locked(root: Path) -> Iterator[None]:
    """Excludes marking a run and reaping it, across the processes (and threads) of this host."""
    descriptor = os.open(root.resolve() / OWNERS_DIR / MARKERS_MUTEX, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


@dataclass(frozen=True)
class Reaped:
    runs: list[Path]  # the worktree paths whose files were removed
    kept_mounted: list[Path]  # worktrees a lazy unmount could not release: left in place


def reap_orphans(root: Path) -> Reaped:
    """Removes the files of every run whose owner is dead; call before taking work."""
    root = root.resolve()
    reaped = Reaped(runs=[], kept_mounted=[])
    owners = root / OWNERS_DIR
    if not owners.is_dir():
        return reaped
    live: dict[str, bool] = {}
    held: list[int] = []  # the dead owners' locks, held while their runs go, so no reaper races us
    try:
        for marker in sorted(root.glob(f"*/*{OWNER_SUFFIX}")):
            owner = _owner_of(marker)
            if owner is None or owner == _CLAIMS.get(root):
                continue
            if owner not in live:
                live[owner] = _is_alive(owners / f"{owner}.lock", held)
            if not live[owner]:
                with _markers_locked(root):
                    if _owner_of(marker) == owner:  # not taken over since it was read
                        _reap_run(marker, reaped)
        for owner, alive in live.items():
            if not alive:
                (owners / f"{owner}.lock").unlink(missing_ok=True)
        for lock in owners.glob("*.lock"):  # dead owners whose runs were all finished
            if lock.stem not in live and lock.stem != _CLAIMS.get(root) and not _is_alive(lock, held):
                lock.unlink(missing_ok=True)
    finally:
        for descriptor in held:
            os.close(descriptor)
    return reaped


def _owner_of(marker: Path) -> str | None:
    try:
        return marker.read_text().strip()
    except OSError:
        return None


def _is_alive(lock: Path, held: list[int]) -> bool:
    """A missing lock counts as dead: a live owner's lock exists from before its first marker."""
    try:
        descriptor = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return True
    held.append(descriptor)
    return False


def _reap_run(marker: Path, reaped: Reaped) -> None:
    run_dir, run_id = marker.parent, marker.name.removesuffix(OWNER_SUFFIX)
    worktree = run_dir / run_id
    kill_recorded_group(run_dir / f"{run_id}.agent-pgid")  # its agent outlives the worker
    if (run_dir / f"{run_id}.upper").is_dir() and os.path.ismount(worktree):
        unmount_worktree(worktree)
    if os.path.ismount(worktree):
        log.warning("left %s in place: still mounted after a lazy unmount", worktree)
        reaped.kept_mounted.append(worktree)
        return
    for suffix in ("", ".upper", ".overlay-work", ".host.git"):
        shutil.rmtree(run_dir / f"{run_id}{suffix}", ignore_errors=True)
    (run_dir / f"{run_id}.prompt.md").unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    reaped.runs.append(worktree)
    with contextlib.suppress(OSError):  # only when empty
        run_dir.rmdir()
