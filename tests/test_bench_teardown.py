"""The executor benchmarks' teardown: a stopped executor leaves the overlay worktrees of the runs it
had in flight mounted under the bench's scratch directory (50 and 10 of them after each CI run, before
this). `bench_home` unmounts them, a busy one lazily, and removes the directory."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from paid_executor.tree_overlay import can_mount_overlay

BENCH = Path(__file__).resolve().parents[1] / "bench"


def load_scratch() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scratch", BENCH / "scratch.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("scratch", module)
    spec.loader.exec_module(module)
    return module


def mount_overlay(run: Path, merged_name: str) -> Path:
    layers = [run / name for name in ("lower", "upper", "work", merged_name)]
    for layer in layers:
        layer.mkdir(parents=True)
    (layers[0] / "README.md").write_text("base\n")
    lower, upper, work, merged = layers
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)], check=True)
    return merged


@pytest.mark.skipif(
    not can_mount_overlay(Path("/tmp/paid-overlay-probe")),
    reason="needs permission to mount overlayfs (CAP_SYS_ADMIN)",
)
def test_a_bench_home_goes_away_with_the_worktrees_its_executor_left_mounted() -> None:
    scratch = load_scratch()
    with scratch.bench_home("paid-test-bench-") as home:
        idle = mount_overlay(home / "workspaces" / "run-1", "worktree")
        # A space in the path: /proc/self/mounts writes it as \040.
        busy = mount_overlay(home / "workspaces" / "run-2", "work tree")
        assert {idle, busy} <= set(scratch.mount_points())
        # An agent the stopped executor left behind still has its working directory in the tree.
        agent = subprocess.Popen(["sleep", "300"], cwd=busy)
    try:
        assert not home.exists()
        assert [point for point in scratch.mount_points() if point.is_relative_to(home)] == []
        assert agent.poll() is None  # the busy tree was detached, not waited for
    finally:
        agent.kill()
        agent.wait()
