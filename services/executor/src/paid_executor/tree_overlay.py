"""Copy-on-write worktrees: each base commit is copied out once (files and the agent's shallow
repository, as host_repository.check_out makes them) into a read-only base tree in the repository
cache, and every run on that base gets an overlay mount over it: the run's writes land in an upper
directory of its own, so a run's tree is ready in the time of a mount whatever the size of the
repository. The mount is kernel overlayfs where the executor may mount (CAP_SYS_ADMIN), else
`fuse-overlayfs` (the Debian package, with /dev/fuse) where it is installed; with neither, runs fall
back to their own copy.

Trust boundary: the base tree is the overlay's lower layer, which overlayfs never writes (a changed
file is copied up first); no sandbox mounts the base tree itself, only the run's merged worktree. The
host reads the merged worktree after the agent as before: with lstat, as data. With fuse-overlayfs,
the agent's file operations are served by a fuse-overlayfs process of the executor's user instead of
the kernel: a parser of hostile input outside the sandbox, so the kernel driver is preferred."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

from paid_executor.file_lock import flocked
from paid_executor.host_repository import HostRepository
from paid_executor.workspace import GitError

BASE_BRANCH = "paid-base"
COMPLETE = ".complete"  # beside a base tree (never inside: the agent would see it)
UNSAFE_IN_MOUNT_OPTIONS = (",", ":", " ", "\n", "\\")
FUSE_OVERLAY = "fuse-overlayfs"
Driver = Literal["kernel", "fuse"]
DriverChoice = Literal["auto", "kernel", "fuse"]
_AVAILABLE: dict[tuple[Path, Driver], bool] = {}


def can_mount_overlay(root: Path, driver: Driver = "kernel") -> bool:
    """Tries one overlay mount with `driver` under `root` (once per process, root and driver)."""
    if (root, driver) not in _AVAILABLE:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root, prefix=".probe-") as probe:
            layers = [Path(probe) / name for name in ("lower", "upper", "work", "merged")]
            for layer in layers:
                layer.mkdir()
            _AVAILABLE[root, driver] = _mount(*layers, driver=driver) and _unmount(layers[3])
    return _AVAILABLE[root, driver]


def usable_driver(root: Path, choice: DriverChoice) -> Driver | None:
    """The overlay this host can mount under `root`: the one asked for, or under "auto" the kernel's,
    then fuse-overlayfs; None when neither mounts."""
    candidates: tuple[Driver, ...] = ("kernel", "fuse") if choice == "auto" else (choice,)
    return next((driver for driver in candidates if can_mount_overlay(root, driver)), None)


def _mount(lower: Path, upper: Path, work: Path, merged: Path, *, driver: Driver = "kernel") -> bool:
    if any(mark in str(path) for path in (lower, upper, work) for mark in UNSAFE_IN_MOUNT_OPTIONS):
        return False  # the paths are mount options: a comma or colon would change their meaning
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    if driver == "fuse":
        if shutil.which(FUSE_OVERLAY) is None:
            return False
        return _succeeds([FUSE_OVERLAY, "-o", options, str(merged)])
    return _succeeds(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)])


def _unmount(merged: Path) -> bool:
    """umount(8), or fusermount3 for a fuse-overlayfs mount where the executor is not root."""
    return (
        not os.path.ismount(merged)
        or _succeeds(["umount", str(merged)])
        or _succeeds(["fusermount3", "-u", str(merged)])
    )


def _succeeds(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, check=False).returncode == 0
    except OSError:  # no mount(8) or fusermount3 in this image
        return False


class OverlayTrees:
    def __init__(self, root: Path, driver: DriverChoice = "auto") -> None:
        self.root = root  # <repository cache>/trees
        self.driver = driver

    def available(self) -> bool:
        return usable_driver(self.root, self.driver) is not None

    async def base_tree(self, host: HostRepository) -> Path:
        """The read-only tree of the commit `host` gives the agent (its `paid-base` branch), copied out
        by the first run that needs it. Keyed by that commit as resolved here, never by what a caller
        believes it to be, so that a tree can only ever hold its own commit."""
        commit = await host.resolve(f"refs/heads/{BASE_BRANCH}")
        tree = self.root / commit
        complete = self.root / f"{commit}{COMPLETE}"
        if complete.exists():
            complete.touch()  # recently used, for eviction
            return tree
        async with flocked(self.root / f"{commit}.lock"):
            if not complete.exists():
                partial = self.root / f"{commit}.partial-{secrets.token_hex(4)}"
                try:
                    await host.check_out(partial, BASE_BRANCH, public_url="")
                    await host.tolerate_moved_files(partial)
                    if await host.resolve_in_copy(partial, "HEAD") != commit:
                        raise GitError(f"the copy of {commit} holds another commit")
                    await asyncio.to_thread(shutil.rmtree, tree, True)
                    partial.rename(tree)
                finally:
                    await asyncio.to_thread(shutil.rmtree, partial, True)
                complete.touch()
        return tree

    async def mount(self, base_tree: Path, worktree: Path, upper: Path, work: Path) -> bool:
        """The run's worktree as an overlay over `base_tree`; False when the mount failed."""
        for directory in (worktree, upper, work):
            directory.mkdir(parents=True, exist_ok=True)
        async with flocked(base_tree.with_name(f"{base_tree.name}.lock")):  # not while it is evicted
            if not (self.root / f"{base_tree.name}{COMPLETE}").exists():
                return False
            driver = usable_driver(self.root, self.driver)
            if driver is None:
                return False
            return await asyncio.to_thread(_mount, base_tree, upper, work, worktree, driver=driver)

    async def evict_unused(self) -> list[Path]:
        """Removes the base trees no overlay mounts (checked under each tree's lock)."""
        mounted = _mounted_lower_dirs()
        evicted = []
        for complete in sorted(self.root.glob(f"*{COMPLETE}"), key=lambda path: path.stat().st_mtime):
            tree = self.root / complete.name.removesuffix(COMPLETE)
            async with flocked(self.root / f"{tree.name}.lock"):
                if str(tree) in mounted:
                    continue
                complete.unlink(missing_ok=True)
                await asyncio.to_thread(shutil.rmtree, tree, True)
            evicted.append(tree)
        return evicted


def unmount_worktree(worktree: Path) -> None:
    """Before a run's files are removed: a lazy unmount if something still holds the mount."""
    if not _unmount(worktree) and not _succeeds(["umount", "-l", str(worktree)]):
        _succeeds(["fusermount3", "-u", "-z", str(worktree)])


def _mounted_lower_dirs() -> set[str]:
    """The lower layers of every kernel overlay (from the mount table) and every fuse-overlayfs mount
    (whose options the mount table does not show: from its process's arguments)."""
    lowers: set[str] = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) > 3 and fields[2] == "overlay":
                lowers.update(_lower_dirs(fields[3]))
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
            if Path(argv[0]).name == FUSE_OVERLAY and "-o" in argv[:-1]:
                lowers.update(_lower_dirs(argv[argv.index("-o") + 1]))
    return lowers


def _lower_dirs(options: str) -> list[str]:
    return [
        lower
        for option in options.split(",")
        if option.startswith("lowerdir=")
        for lower in option.removeprefix("lowerdir=").split(":")
    ]
