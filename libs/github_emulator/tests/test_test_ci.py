"""The test CI's sandbox: the repository's code sees no network, no host environment, no emulator data,
and can write only its checkout; a run that hangs is stopped and reported as failed."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from paid_devstack import wait_until
from paid_github_emulator import push_events
from paid_github_emulator.git_history import GitHistory

from .conftest import World

ESCAPES = """
import os, socket, sys
host, port, data_dir, outside = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
escaped = []
try:
    socket.create_connection((host, port), timeout=2).close()
    escaped.append("network")
except OSError:
    pass
if "PAID_HOST_SECRET" in os.environ:
    escaped.append("environment")
if os.path.exists(data_dir):
    escaped.append("emulator data")
try:
    open(outside, "w").write("escaped")
    escaped.append("write outside the checkout")
except OSError:
    pass
open("inside.txt", "w").write("fine")
print("escaped:", escaped)
sys.exit(1 if escaped else 0)
"""


def push_script(world: World, name: str, text: str) -> str:
    """Commit a file on main as a push would, without a git client."""
    main = world.emu.branch_sha(world.owner, world.repo, "main")
    assert main is not None
    repo = world.emu.hub.store.find_repo(world.owner, world.repo)
    assert repo is not None
    history = GitHistory(world.emu.hub.git, world.owner, world.repo)
    sha = history.put_file("main", name, text.encode(), f"Add {name}", world.owner)
    push_events.ref_moved(
        world.emu.hub, repo, world.emu.hub.user(world.owner), "refs/heads/main", before=main, after=sha
    )
    return sha


def finished_run(world: World, sha: str) -> dict[str, object]:
    def done() -> bool:
        completed = world.emu.deliveries(event="check_run", action="completed")
        return any(json.loads(d.body)["check_run"]["head_sha"] == sha for d in completed)

    wait_until(done, timeout=120, what="the test CI")
    completed = world.emu.deliveries(event="check_run", action="completed")
    found: dict[str, object] = next(
        json.loads(d.body)["check_run"]
        for d in completed
        if json.loads(d.body)["check_run"]["head_sha"] == sha
    )
    return found


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (apt-get install bubblewrap)")
def test_the_repositorys_code_cannot_reach_out(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAID_HOST_SECRET", "s3cret")
    world.emu.create_hook(world.owner, world.repo, "http://127.0.0.1:9/unreachable", events=["check_run"])
    outside = tmp_path / "outside.txt"
    host, port = world.emu.base_url.removeprefix("http://").split(":")
    command = [sys.executable, "escape.py", host, port, str(world.emu.data_dir), str(outside)]
    world.emu.enable_test_ci(world.owner, world.repo, command, name="tests")
    sha = push_script(world, "escape.py", ESCAPES)
    run = finished_run(world, sha)
    assert run["conclusion"] == "success", run["output"]
    assert not outside.exists()


def test_a_hanging_run_is_stopped_and_fails(world: World) -> None:
    world.emu.create_hook(world.owner, world.repo, "http://127.0.0.1:9/unreachable", events=["check_run"])
    command = [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(600)"]
    world.emu.enable_test_ci(world.owner, world.repo, command, timeout=1, sandbox=False)
    sha = push_script(world, "slow.txt", "slow\n")
    run = finished_run(world, sha)
    assert run["conclusion"] == "failure"
    assert "timed out after 1s" in str(run["output"])


def test_without_bubblewrap_the_ci_refuses_unless_told_otherwise(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _: None)  # the CI looks bubblewrap up through it
    with pytest.raises(RuntimeError, match="bubblewrap"):
        world.emu.enable_test_ci(world.owner, world.repo, ["true"])
    world.emu.enable_test_ci(world.owner, world.repo, ["true"], sandbox=False)
