"""What a stopped executor leaves mounted: the overlay worktrees of the runs it had in flight (a
SIGKILLed or lost worker never cleans up). A dev stack, a bench and a test release them under their
own scratch directory when they stop, so that the directory can be removed ("Device or resource busy"
otherwise) and no mount outlives the run that made it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path


def mount_points() -> list[Path]:
    """This process's mount points; /proc/self/mounts escapes a space, tab, newline or backslash in
    a path as octal."""
    lines = Path("/proc/self/mounts").read_text().splitlines()
    return [Path(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[1])) for line in lines]


def mounts_under(root: Path) -> list[Path]:
    root = root.resolve()
    return [point for point in mount_points() if point.is_relative_to(root)]


def release_mounts(root: Path) -> list[Path]:
    """Unmounts everything mounted under `root`, deepest first (lazily where a process still holds
    it); returns the mount points it found."""
    found = mounts_under(root)
    for point in sorted(found, key=lambda point: len(point.parts), reverse=True):
        unmount(point)
    return found


def unmount(point: Path) -> None:
    for argv in (["umount", str(point)], ["umount", "-l", str(point)]):
        if not os.path.ismount(point):
            return
        try:
            subprocess.run(argv, capture_output=True, check=False)
        except OSError:  # no umount(8) in this image: nothing could have mounted either
            return


def release_new_mounts(root: Path, before: set[Path]) -> list[Path]:
    """Unmounts what is mounted under `root` and was not in `before`; returns it."""
    left = [point for point in mounts_under(root) if point not in before]
    for point in sorted(left, key=lambda point: len(point.parts), reverse=True):
        unmount(point)
    return left
