"""The repository cache's work on plain files, run in threads: removing a mirror so that no reader
sees half of it, sizes and ages for eviction, and the names of pins."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
from pathlib import Path


def move_aside_and_delete(mirror: Path) -> None:
    if not mirror.exists():
        return
    doomed = mirror.with_name(f"{mirror.name}.removing-{secrets.token_hex(4)}")
    mirror.rename(doomed)
    shutil.rmtree(doomed, ignore_errors=True)


def pin_name(host_git: Path) -> str:
    return hashlib.sha256(str(host_git).encode()).hexdigest()[:24]


def mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def size(root: Path) -> int:
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total
