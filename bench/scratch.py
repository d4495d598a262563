"""A bench run's scratch directory, and what a stopped executor leaves mounted in it: the overlay
worktrees of the runs it had in flight."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from paid_devstack.mounts import mount_points, release_mounts

__all__ = ["bench_home", "mount_points", "release_mounts"]


@contextmanager
def bench_home(prefix: str) -> Iterator[Path]:
    """A scratch directory for one bench run, removed afterwards with whatever is still mounted in it."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield home
    finally:
        release_mounts(home)
        shutil.rmtree(home, ignore_errors=True)
