"""The publish step's commit, paired on one worktree: importing the worktree again (what publish_change
did before) against committing the last iteration's import again (`worktree_import.recommit`, now).
Each pair runs both on the same change, alternating which goes first, on a generated repository of
`--files` files (the large repository's size by default); it prints the p50 of each, the paired saving
and the load average beside them, one `name value unit` line each.

Usage: bench/publish_step.py [--files N] [--pairs N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from repository_cache import generate

from paid_executor.host_repository import HostRepository
from paid_executor.repository_cache import RepositoryCache
from paid_executor.workspace import Identity
from paid_executor.worktree_import import import_worktree, recommit

MAX_FILE_BYTES = 10 * 1024 * 1024


async def measure(files: int, pairs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="paid-publish-step-") as scratch_text:
        scratch = Path(scratch_text)
        origin = scratch / "origin.git"
        generate(origin, files=files, commits=1, changes=0, file_bytes=2000)
        mirrored = await RepositoryCache(scratch / "cache", max_bytes=10**12).refresh(str(origin), "main")
        host = HostRepository(scratch / "run" / "host.git", identity=Identity("Paid", "paid@localhost"))
        await host.attach_base(mirrored.mirror, mirrored.base_sha)
        worktree = scratch / "run" / "worktree"
        await host.check_out(worktree, "paid/issue-1", public_url="https://example.invalid/r.git")
        base = mirrored.base_sha
        changed = worktree / "src" / "pkg00" / "sub0" / "module_0.py"
        changed.write_text(changed.read_text() + "# the agent's change\n")

        async def walk() -> float:
            started = time.perf_counter()
            await import_worktree(
                host,
                worktree,
                base=base,
                message="Fix #1",
                max_file_bytes=MAX_FILE_BYTES,
                allow_workflow_changes=False,
            )
            return time.perf_counter() - started

        checked = await import_worktree(
            host,
            worktree,
            base=base,
            message="iteration 1",
            max_file_bytes=MAX_FILE_BYTES,
            allow_workflow_changes=False,
        )

        async def reuse() -> float:
            started = time.perf_counter()
            found = await recommit(
                host, checked.commit, base=base, message="Fix #1", allow_workflow_changes=False
            )
            assert found is not None
            assert found.changed_files == checked.changed_files
            return time.perf_counter() - started

        walked, reused, saved = [], [], []
        load_before = os.getloadavg()[0]
        for pair in range(pairs):
            if pair % 2:
                second, first = await reuse(), await walk()
            else:
                first, second = await walk(), await reuse()
            walked.append(first)
            reused.append(second)
            saved.append(first - second)
        load_after = os.getloadavg()[0]
        for step, times in (("import_again", walked), ("recommit", reused)):
            print(f"publish_commit_{step}_p50 {statistics.median(times) * 1000:.1f} ms")
        print(f"publish_commit_saving_paired_p50 {statistics.median(saved) * 1000:.1f} ms")
        print(f"publish_commit_files {files} files")
        print(f"publish_commit_load_average {(load_before + load_after) / 2:.1f} load")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--pairs", type=int, default=10)
    arguments = parser.parse_args()
    asyncio.run(measure(arguments.files, arguments.pairs))


if __name__ == "__main__":
    main()
