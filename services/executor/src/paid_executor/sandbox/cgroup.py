"""A pids (and memory) limit per sandboxed process tree through a cgroup, v1 or v2, when writable."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

V1_PIDS = Path("/sys/fs/cgroup/pids")
V2_ROOT = Path("/sys/fs/cgroup")
PARENT = "paid-sandboxes"


def pids_cgroup_root() -> Path | None:
    """Where Paid may create pids-limited cgroups on this host, or None."""
    for root in (V1_PIDS, V2_ROOT):
        if (root / "pids.max").exists() or (root / "cgroup.procs").exists():
            if root == V2_ROOT and "pids" not in _read(root / "cgroup.controllers"):
                continue
            if os.access(root, os.W_OK):
                return root
    return None


def create_pids_cgroup(name: str, limit: int) -> Path | None:
    """A fresh cgroup allowing `limit` tasks; None when the host does not let Paid create one."""
    root = pids_cgroup_root()
    if root is None:
        return None
    parent = root / PARENT
    try:
        parent.mkdir(exist_ok=True)
        if root == V2_ROOT:
            with contextlib.suppress(OSError):
                (parent / "cgroup.subtree_control").write_text("+pids")
        group = parent / name
        group.mkdir(exist_ok=True)
        (group / "pids.max").write_text(str(limit))
    except OSError:
        return None
    return group


def remove_cgroup(group: Path) -> None:
    """Kills what is left in the group, then removes it (a cgroup with tasks cannot be removed)."""
    with contextlib.suppress(OSError):
        for pid in _read(group / "cgroup.procs").split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), 9)
    with contextlib.suppress(OSError):
        group.rmdir()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
