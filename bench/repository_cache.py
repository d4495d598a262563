"""Time to a run's ready tree on a repository of real size: from the executor's repository cache (a
warm mirror: incremental fetch, host repository over the mirror, the agent's shallow copy) beside a
full clone of the same repository, with the floor measured in the same run (`git archive | tar -x`
of the base out of the mirror: writing the files, nothing else). The origin is a local repository
reached over file:// (git's pack protocol, as over the network, without a network's latency).

The repository is generated once with `git fast-import` (--files, --commits; each later commit
changes --changes files) and kept in --cache-dir, so later runs reuse it. Prints `name value unit`
lines, each labelled with the repository's size."""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from paid_executor.host_repository import HostRepository
from paid_executor.repository_cache import RepositoryCache
from paid_executor.workspace import Identity

WORDS = [f"{prefix}{suffix}" for prefix in ("get", "set", "load", "parse", "emit") for suffix in "abcdefgh"]


def generate(target: Path, *, files: int, commits: int, changes: int, file_bytes: int) -> None:
    """A repository of `files` files and `commits` commits, streamed into git fast-import."""
    scratch = target.with_name(target.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(scratch)], check=True)
    importer = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"],
        cwd=scratch,
        env={"GIT_DIR": str(scratch)},
        stdin=subprocess.PIPE,
    )
    assert importer.stdin is not None
    rng = random.Random(24)

    def content(index: int, revision: int) -> bytes:
        lines = [f"# module {index} revision {revision}"]
        while sum(len(line) for line in lines) < file_bytes:
            lines.append(f"def {rng.choice(WORDS)}_{rng.getrandbits(32):x}(x): return x * {rng.random():.6f}")
        return ("\n".join(lines) + "\n").encode()

    def path(index: int) -> str:
        return f"src/pkg{index % 100:02d}/sub{index % 7}/module_{index}.py"

    write = importer.stdin.write
    for revision in range(commits):
        touched = range(files) if revision == 0 else rng.sample(range(files), changes)
        message = f"change {revision}".encode()
        write(b"commit refs/heads/main\n")
        write(f"committer Bench <bench@localhost> {1_600_000_000 + revision * 3600} +0000\n".encode())
        write(b"data %d\n%s\n" % (len(message), message))
        for index in touched:
            blob = content(index, revision)
            write(f"M 100644 inline {path(index)}\ndata {len(blob)}\n".encode() + blob + b"\n")
        write(b"\n")
    write(b"done\n")
    importer.stdin.close()
    if importer.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "--git-dir", str(scratch), "repack", "-a", "-d", "-q"], check=True)
    scratch.rename(target)


def run_git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def export_tree(git_dir: Path, target: Path) -> None:
    """The floor: the base's files written out of the mirror, with no repository for the agent."""
    archive = subprocess.Popen(["git", f"--git-dir={git_dir}", "archive", "main"], stdout=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", str(target)], stdin=archive.stdout, check=False)
    if archive.wait() != 0 or untar.returncode != 0:
        raise RuntimeError("git archive | tar -x failed")


async def from_cache(cache: RepositoryCache, origin_url: str, run_dir: Path) -> None:
    host = HostRepository(run_dir / "host.git", token="", identity=Identity("Bench", "bench@localhost"))
    mirrored = await cache.refresh(origin_url, "main", pin=host.git_dir)
    await host.attach_base(mirrored.mirror, mirrored.base_sha)
    await host.check_out(run_dir / "worktree", "paid/issue-1", public_url="https://example.invalid/r.git")


def measure(origin: Path, label: str, runs: int) -> None:
    url = origin.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="paid-bench-cache-") as scratch_dir:
        scratch = Path(scratch_dir)
        cache = RepositoryCache(scratch / "cache", max_bytes=10**12)
        cold = time.perf_counter()
        asyncio.run(cache.refresh(url, "main"))
        cold_seconds = time.perf_counter() - cold
        mirror = cache.mirror_path(url)
        clone, warm, floor = [], [], []
        for attempt in range(runs):  # interleaved, so that load on the machine falls on all three alike
            target = scratch / f"clone-{attempt}"
            started = time.perf_counter()
            run_git("clone", "--quiet", url, str(target))
            clone.append(time.perf_counter() - started)
            shutil.rmtree(target)

            started = time.perf_counter()
            asyncio.run(from_cache(cache, url, scratch / f"run-{attempt}"))
            warm.append(time.perf_counter() - started)
            shutil.rmtree(scratch / f"run-{attempt}")

            target.mkdir()
            started = time.perf_counter()
            export_tree(mirror, target)
            floor.append(time.perf_counter() - started)
            shutil.rmtree(target)
        packed = sum(path.stat().st_size for path in (mirror / "objects").rglob("*") if path.is_file())
    tag = f"{{repo={label}}}"
    print(f"repository_packed_bytes{tag} {packed} bytes")
    print(f"tree_ready_cold_cache{tag} {cold_seconds * 1000:.0f} ms")
    print(f"tree_ready_full_clone_p50{tag} {statistics.median(clone) * 1000:.0f} ms")
    print(f"tree_ready_warm_cache_p50{tag} {statistics.median(warm) * 1000:.0f} ms")
    print(f"tree_ready_floor_export_p50{tag} {statistics.median(floor) * 1000:.0f} ms")
    warm_p50, clone_p50, floor_p50 = (statistics.median(figures) for figures in (warm, clone, floor))
    print(f"tree_ready_warm_cache_over_floor{tag} {warm_p50 / floor_p50:.2f} x")
    print(f"tree_ready_full_clone_over_warm_cache{tag} {clone_p50 / warm_p50:.2f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--commits", type=int, default=5_000)
    parser.add_argument("--changes", type=int, default=3, help="files each commit after the first changes")
    parser.add_argument("--file-bytes", type=int, default=6_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "paid-bench")
    arguments = parser.parse_args()
    arguments.cache_dir.mkdir(parents=True, exist_ok=True)
    shape = f"{arguments.files}f-{arguments.commits}c-{arguments.changes}x-{arguments.file_bytes}b"
    large = arguments.cache_dir / f"generated-{shape}.git"
    if not large.exists():
        started = time.perf_counter()
        generate(
            large,
            files=arguments.files,
            commits=arguments.commits,
            changes=arguments.changes,
            file_bytes=arguments.file_bytes,
        )
        print(f"repository_generated_seconds{{repo=large}} {time.perf_counter() - started:.1f} s")
    small = arguments.cache_dir / "generated-50f-20c-3x-600b.git"
    if not small.exists():
        generate(small, files=50, commits=20, changes=3, file_bytes=600)
    print(f"repository_files{{repo=large}} {arguments.files} files")
    print(f"repository_commits{{repo=large}} {arguments.commits} commits")
    measure(small, "small", arguments.runs)
    measure(large, "large", arguments.runs)


if __name__ == "__main__":
    main()
