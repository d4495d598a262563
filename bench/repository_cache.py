"""Time to a run's ready tree on a repository of real size, through the executor's own path
(RunWorkspace.prepare: incremental fetch into the warm mirror, host repository over it, the agent's
tree, .paid.yml read from the base): as an overlay over the base's read-only tree where this host may
mount, and as the run's own copy; beside a full clone of the same repository, with the floors
measured in the same run (an overlay mount alone; `git archive | tar -x` of the base out of the
mirror, i.e. writing the files and nothing else). The overlay is timed twice, alternating: with the
incremental fetch every run used to make, and with the base commit known beforehand (as GitHub reports
it beside the issue), which the warm mirror holds, so nothing is fetched; their paired difference is
printed. The origin is a local repository reached over file:// (git's pack protocol, without a
network's latency: a real clone, and a real fetch, cost more).

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
from datetime import UTC, datetime
from pathlib import Path

from paid_contracts import IssueRef, RepoRef
from paid_executor.config import ExecutorSettings
from paid_executor.params import IssueDetails, RunContext
from paid_executor.repository_cache import TREES_DIR, RepositoryCache
from paid_executor.run_workspace import RunWorkspace
from paid_executor.tree_overlay import OverlayTrees, unmount_worktree

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


def run_workspace(scratch: Path, run_id: str, *, overlay: bool) -> RunWorkspace:
    settings = ExecutorSettings(
        workspace_root=scratch / "ws", repository_cache_root=scratch / "cache", worktree_overlay=overlay
    )
    run = RunContext(
        run_id=run_id,
        workflow_id=f"exec:bench/repo#{run_id}:1",
        issue=IssueRef(repo=RepoRef(owner="bench", name="repo"), number=1),
        agent="demo",
        prompt_version="v1",
        started_at=datetime.now(UTC),
    )
    return RunWorkspace(settings, run)


def prepared(workspace: RunWorkspace, url: str, known_base: str | None = None) -> float:
    """Seconds until the run's tree is ready (RunWorkspace.prepare: the executor's own path). With
    `known_base` (the commit GitHub reported beside the issue) a mirror that holds it is not fetched."""
    issue = IssueDetails(
        title="t",
        body=None,
        html_url="https://x/1",
        state="open",
        default_branch="main",
        clone_url=url,
        base_sha=known_base,
    )
    started = time.perf_counter()
    asyncio.run(workspace.prepare(issue, "paid/issue-1", token=""))
    seconds = time.perf_counter() - started
    workspace.cleanup()
    return seconds


def mount_floor(scratch: Path, base_tree: Path, attempt: int) -> float:
    trees = OverlayTrees(base_tree.parent)
    layers = [scratch / f"floor-{attempt}-{name}" for name in ("merged", "upper", "work")]
    started = time.perf_counter()
    asyncio.run(trees.mount(base_tree, *layers))
    seconds = time.perf_counter() - started
    unmount_worktree(layers[0])
    for layer in layers:
        shutil.rmtree(layer)
    return seconds


def measure(origin: Path, label: str, runs: int) -> None:
    url = origin.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="paid-bench-cache-") as scratch_dir:
        scratch = Path(scratch_dir)
        overlay = OverlayTrees(scratch / "cache" / TREES_DIR).available()
        cold = prepared(run_workspace(scratch, "cold", overlay=overlay), url)  # builds mirror and base tree
        mirror = RepositoryCache(scratch / "cache", max_bytes=0).mirror_path(url)
        base = subprocess.run(
            ["git", f"--git-dir={mirror}", "rev-parse", "main"], capture_output=True, text=True, check=True
        ).stdout.strip()
        figures: dict[str, list[float]] = {"full_clone": [], "cache_copy": [], "floor_export": []}
        if overlay:
            figures |= {"cache_overlay": [], "cache_overlay_known_base": [], "floor_mount": []}
        for attempt in range(runs):  # interleaved, so that load on the machine falls on all alike
            target = scratch / f"clone-{attempt}"
            started = time.perf_counter()
            run_git("clone", "--quiet", url, str(target))
            figures["full_clone"].append(time.perf_counter() - started)
            shutil.rmtree(target)
            figures["cache_copy"].append(
                prepared(run_workspace(scratch, f"copy-{attempt}", overlay=False), url)
            )
            target.mkdir()
            started = time.perf_counter()
            export_tree(mirror, target)
            figures["floor_export"].append(time.perf_counter() - started)
            shutil.rmtree(target)
            if overlay:
                workspace = run_workspace(scratch, f"overlay-{attempt}", overlay=True)
                figures["cache_overlay"].append(prepared(workspace, url))
                workspace = run_workspace(scratch, f"known-{attempt}", overlay=True)
                figures["cache_overlay_known_base"].append(prepared(workspace, url, known_base=base))
                tree = scratch / "cache" / TREES_DIR / base
                figures["floor_mount"].append(mount_floor(scratch, tree, attempt))
        packed = sum(path.stat().st_size for path in (mirror / "objects").rglob("*") if path.is_file())
    tag = f"{{repo={label}}}"
    p50 = {name: statistics.median(values) for name, values in figures.items()}
    print(f"repository_packed_bytes{tag} {packed} bytes")
    print(f"tree_ready_cold_cache{tag} {cold * 1000:.0f} ms")
    for name, value in p50.items():
        print(f"tree_ready_{name}_p50{tag} {value * 1000:.1f} ms")
    print(f"tree_ready_cache_copy_over_floor_export{tag} {p50['cache_copy'] / p50['floor_export']:.2f} x")
    if overlay:
        overlay_p50 = p50["cache_overlay"]
        print(f"tree_ready_cache_overlay_over_floor_mount{tag} {overlay_p50 / p50['floor_mount']:.1f} x")
        print(f"tree_ready_full_clone_over_cache_overlay{tag} {p50['full_clone'] / overlay_p50:.1f} x")
        known_p50 = p50["cache_overlay_known_base"]
        print(
            f"tree_ready_cache_overlay_known_base_over_floor_mount{tag} "
            f"{known_p50 / p50['floor_mount']:.1f} x"
        )
        print(
            f"tree_ready_full_clone_over_cache_overlay_known_base{tag} {p50['full_clone'] / known_p50:.1f} x"
        )
        saved = [
            a - b for a, b in zip(figures["cache_overlay"], figures["cache_overlay_known_base"], strict=True)
        ]
        print(f"tree_ready_fetch_skipped_saving_p50{tag} {statistics.median(saved) * 1000:.1f} ms")
    print(f"tree_ready_overlay{tag} {'yes' if overlay else 'no'} mountable")


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
