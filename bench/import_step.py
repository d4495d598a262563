"""The commit step before and after the trust boundary, on the same repository and change: before, the
host ran `git add -A` and `git commit` in the agent's worktree (its config, hooks and attributes
included); now it reads the tree with lstat into a repository only it writes (`import_worktree`).
Used by `orchestration_overhead.py --compare`."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

from paid_executor.host_repository import HostRepository
from paid_executor.workspace import Identity
from paid_executor.worktree_import import import_worktree

IDENTITY = Identity("Paid", "paid@localhost")
MAX_FILE_BYTES = 10 * 1024 * 1024


def _git(cwd: Path, *args: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"} | IDENTITY.env()
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def commit_in_worktree_ms(clone_url: str, scratch: Path, change: tuple[str, str], runs: int) -> list[float]:
    """The old step: add and commit where the agent wrote."""
    worktree = scratch / "old-worktree"
    subprocess.run(["git", "clone", "--quiet", clone_url, str(worktree)], check=True, capture_output=True)
    path, content = change
    times = []
    for i in range(runs):
        (worktree / path).write_text(f"{content}# {i}\n")
        began = time.perf_counter()
        _git(worktree, "add", "-A")
        _git(worktree, "commit", "--quiet", "-m", f"change {i}")
        times.append((time.perf_counter() - began) * 1000)
    return times


def _mirror(clone_url: str, scratch: Path) -> tuple[Path, str]:
    mirror = scratch / "mirror.git"
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", clone_url, str(mirror)], check=True, capture_output=True
    )
    return mirror, _git(mirror, "rev-parse", "HEAD").strip()


async def import_into_host_ms(
    clone_url: str, scratch: Path, change: tuple[str, str], runs: int
) -> list[float]:
    """The new step: the worktree read into the host's own repository over a mirror of the base."""
    mirror, base = _mirror(clone_url, scratch)
    host = HostRepository(scratch / "run.host.git", identity=IDENTITY)
    await host.attach_base(mirror, base)
    worktree = scratch / "new-worktree"
    await host.check_out(worktree, "paid/bench", public_url=clone_url)
    path, content = change
    times = []
    for i in range(runs):
        (worktree / path).write_text(f"{content}# {i}\n")
        began = time.perf_counter()
        await import_worktree(
            host,
            worktree,
            base=base,
            message=f"change {i}",
            max_file_bytes=MAX_FILE_BYTES,
            allow_workflow_changes=False,
        )
        times.append((time.perf_counter() - began) * 1000)
    return times


async def print_import_step(clone_url: str, scratch: Path, change: tuple[str, str], runs: int) -> None:
    before = commit_in_worktree_ms(clone_url, scratch, change, runs)
    after = await import_into_host_ms(clone_url, scratch, change, runs)
    print(f"boundary_commit_in_worktree_p50 {statistics.median(before):.1f} ms")
    print(f"boundary_import_into_host_p50 {statistics.median(after):.1f} ms")
    print(f"boundary_import_added_p50 {statistics.median(after) - statistics.median(before):.1f} ms")
