"""A bench run's scratch directory, and what a stopped executor leaves mounted in it: the overlay
worktrees of the runs it had in flight."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from paid_executor.tree_overlay import unmount_worktree


@contextmanager
def bench_home(prefix: str) -> Iterator[Path]:
    """A scratch directory for one bench run, removed afterwards with whatever is still mounted in it."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield home
    finally:
        release_mounts(home)
        shutil.rmtree(home, ignore_errors=True)


def release_mounts(root: Path) -> list[Path]:
    """Unmounts everything mounted under `root`, deepest first (lazily where a process still holds
    it); returns the mount points it found."""
    root = root.resolve()
    found = [point for point in mount_points() if point.is_relative_to(root)]
    for point in sorted(found, key=lambda point: len(point.parts), reverse=True):
        unmount_worktree(point)
    return found


def mount_points() -> list[Path]:
    """This process's mount points; /proc/self/mounts escapes a space, tab, newline or backslash in
    a path as octal."""
    lines = Path("/proc/self/mounts").read_text().splitlines()
    return [Path(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[1])) for line in lines]
