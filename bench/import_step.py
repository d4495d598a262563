"""The commit step before and after the trust boundary, on the same repository and change: before, the
host ran `git add -A` and `git commit` in the agent's worktree (its config, hooks and attributes
included); now it reads the tree with lstat into a repository only it writes (`import_worktree`).
Used by `orchestration_overhead.py --compare`; alone (`import_step.py --runs N`) it times both steps on
a small local repository, without the stack. Besides the times it prints how many git processes each
step starts, a figure that does not depend on the machine's load.

Usage: bench/import_step.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paid_executor.host_repository import HostRepository
from paid_executor.workspace import Identity
from paid_executor.worktree_import import import_worktree

IDENTITY = Identity("Paid", "paid@localhost")
MAX_FILE_BYTES = 10 * 1024 * 1024


def _git(cwd: Path, *args: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"} | IDENTITY.env()
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@dataclass
class GitCount:
    processes: int = 0


@contextmanager
def counting_git() -> Iterator[GitCount]:
    """Counts the git processes started through subprocess.run (the old step) and
    asyncio.create_subprocess_exec (the host's repository and fast-import) while it is open."""
    count = GitCount()
    run, spawn = subprocess.run, asyncio.create_subprocess_exec

    def counted_run(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        count.processes += argv[0] == "git"
        return run(argv, *args, **kwargs)

    def counted_spawn(program: str, *args: Any, **kwargs: Any) -> Awaitable[asyncio.subprocess.Process]:
        count.processes += program == "git"
        return spawn(program, *args, **kwargs)

    subprocess.run = counted_run  # type: ignore[assignment]
    asyncio.create_subprocess_exec = counted_spawn  # type: ignore[assignment]
    try:
        yield count
    finally:
        subprocess.run = run
        asyncio.create_subprocess_exec = spawn


def commit_in_worktree_ms(
    clone_url: str, scratch: Path, change: tuple[str, str], runs: int, count: GitCount
) -> list[float]:
    """The old step: add and commit where the agent wrote."""
    worktree = scratch / "old-worktree"
    subprocess.run(["git", "clone", "--quiet", clone_url, str(worktree)], check=True, capture_output=True)
    path, content = change
    times = []
    for i in range(runs):
        (worktree / path).write_text(f"{content}# {i}\n")
        with counting_git() as counted:
            began = time.perf_counter()
            _git(worktree, "add", "-A")
            _git(worktree, "commit", "--quiet", "-m", f"change {i}")
            times.append((time.perf_counter() - began) * 1000)
        count.processes = counted.processes
    return times


def _mirror(clone_url: str, scratch: Path) -> tuple[Path, str]:
    mirror = scratch / "mirror.git"
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", clone_url, str(mirror)], check=True, capture_output=True
    )
    return mirror, _git(mirror, "rev-parse", "HEAD").strip()


async def import_into_host_ms(
    clone_url: str, scratch: Path, change: tuple[str, str], runs: int, count: GitCount
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
        with counting_git() as counted:
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
        count.processes = counted.processes
    return times


async def print_import_step(clone_url: str, scratch: Path, change: tuple[str, str], runs: int) -> None:
    old, new = GitCount(), GitCount()
    before = commit_in_worktree_ms(clone_url, scratch, change, runs, old)
    after = await import_into_host_ms(clone_url, scratch, change, runs, new)
    print(f"boundary_commit_in_worktree_p50 {statistics.median(before):.1f} ms")
    print(f"boundary_import_into_host_p50 {statistics.median(after):.1f} ms")
    print(f"boundary_import_added_p50 {statistics.median(after) - statistics.median(before):.1f} ms")
    print(f"boundary_commit_in_worktree_git_processes {old.processes} processes")
    print(f"boundary_import_into_host_git_processes {new.processes} processes")


def _local_origin(scratch: Path, change: tuple[str, str]) -> str:
    origin = scratch / "origin"
    origin.mkdir(parents=True)
    _git(origin, "init", "--quiet", "--initial-branch=main")
    for index in range(20):  # a few more files than the one changed, as a small project has
        (origin / f"module_{index}.py").write_text(f"VALUE = {index}\n")
    (origin / change[0]).write_text(change[1])
    _git(origin, "add", "-A")
    _git(origin, "commit", "--quiet", "-m", "base")
    return origin.resolve().as_uri()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    change = ("calc.py", "def add(a, b):\n    return a + b\n")
    with tempfile.TemporaryDirectory(prefix="paid-bench-import-") as scratch:
        origin = _local_origin(Path(scratch), change)
        asyncio.run(print_import_step(origin, Path(scratch), change, args.runs))


if __name__ == "__main__":
    main()
