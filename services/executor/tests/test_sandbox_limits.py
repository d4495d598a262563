"""Limits that fail closed: a fork bomb and a memory hog are stopped in the bwrap sandbox whether the
host lets Paid create cgroups or not (then rlimits, and a note saying so), and a run whose agent hits
a limit reports it, through bwrap and docker; no sandbox is refused in production and is never a
default."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from paid_executor.agents.base import Invocation
from paid_executor.agents.process import ProcessOutcome, run_agent_process
from paid_executor.config import ExecutorSettings
from paid_executor.params import ExecutionInput
from paid_executor.sandbox import SandboxError, SandboxRequest, sandbox_for
from paid_executor.sandbox import cgroup as cgroup_module
from paid_executor.sandbox.bwrap import bwrap_path
from paid_github_emulator.server import GitHubEmulator

from .docker_support import can_build_image, docker_client, ensure_test_image
from .loop_support import loop_request, loop_worker, run_to_end, script_agent
from .test_trust_boundary import make_repo

needs_bwrap = pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed")
DOCKER = docker_client()
needs_docker = [
    pytest.mark.skipif(DOCKER is None, reason="needs a Docker engine (dockerd), not reachable"),
    pytest.mark.skipif(not can_build_image(), reason="needs the host's python3.11 to build a test image"),
]
MEMORY_LIMIT = 256 * 1024**2

FORK_BOMB = """
import subprocess
children = []
try:
    for _ in range(200):
        children.append(subprocess.Popen(["sleep", "27.1828"]))
except OSError as error:
    print(f"stopped at {len(children)}: {type(error).__name__}")
else:
    print(f"started {len(children)}")
"""
MEMORY_HOG = """
chunks = []
try:
    for _ in range(64):
        chunks.append(bytearray(64 * 1024 * 1024))
except MemoryError:
    print(f"stopped at {len(chunks) * 64} MiB: MemoryError")
else:
    print(f"allocated {len(chunks) * 64} MiB")
"""


CONTROLLER_ROOT = cgroup_module._controller_root


@pytest.fixture(params=["cgroups", "rlimits"])
def limited_by(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """`rlimits`: as on a host where no cgroup is writable."""
    if request.param == "rlimits":
        monkeypatch.setattr(cgroup_module, "_controller_root", lambda controller: None)
    elif cgroup_module.pids_cgroup_root() is None:
        pytest.skip("needs a writable cgroup pids controller")
    return str(request.param)


async def run_bwrap(tmp_path: Path, code: str, notes: list[str]) -> ProcessOutcome:
    worktree = tmp_path / "worktree"
    worktree.mkdir(exist_ok=True)
    sandbox = sandbox_for("bwrap")
    request = SandboxRequest(
        run_key=f"limits-{uuid.uuid4().hex[:8]}",
        worktree=worktree,
        env={"PATH": "/usr/bin:/bin"},
        pids_limit=32,
        memory_bytes=MEMORY_LIMIT,
        cpu_seconds=60,
    )
    prepared = sandbox.prepare(Invocation(argv=[sys.executable, "-c", code], stdin=None, env={}), request)
    notes.extend([prepared.note] if prepared.note else [])
    try:
        return await run_agent_process(
            prepared.invocation,
            cwd=worktree,
            base_env={},
            timeout=120,
            pgid_file=tmp_path / "pgid",
            on_progress=lambda line: None,
            limits=prepared.limits,
        )
    finally:
        sandbox.release(prepared)


@needs_bwrap
async def test_a_fork_bomb_is_stopped(limited_by: str, tmp_path: Path) -> None:
    notes: list[str] = []
    if limited_by == "rlimits" and os.geteuid() == 0:
        # RLIMIT_NPROC does not bind root's processes: with no cgroup, the sandbox refuses to start.
        with pytest.raises(SandboxError, match="cannot limit the sandbox's processes"):
            await run_bwrap(tmp_path, FORK_BOMB, notes)
        return
    outcome = await run_bwrap(tmp_path, FORK_BOMB, notes)
    assert outcome.last_line.startswith("stopped at"), outcome.stdout + outcome.stderr
    assert int(outcome.last_line.split()[2].rstrip(":")) < 32
    assert bool(notes) == (limited_by == "rlimits"), notes
    if notes:
        assert "RLIMIT_NPROC" in notes[0]


@needs_bwrap
async def test_a_memory_hog_is_stopped(
    limited_by: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if limited_by == "cgroups" and cgroup_module._controller_root("memory") is None:
        pytest.skip("needs a writable cgroup memory controller")
    if limited_by == "rlimits" and os.geteuid() == 0:  # root needs the pids cgroup (see above)
        if CONTROLLER_ROOT("pids") is None:
            pytest.skip("needs a writable cgroup pids controller when run as root")
        monkeypatch.setattr(
            cgroup_module, "_controller_root", lambda c: None if c == "memory" else CONTROLLER_ROOT(c)
        )
    notes: list[str] = []
    outcome = await run_bwrap(tmp_path, MEMORY_HOG, notes)
    assert not outcome.last_line.startswith("allocated"), outcome.stdout
    # An rlimit makes the allocation fail; a cgroup's OOM killer ends the process.
    assert outcome.last_line.endswith("MemoryError") or outcome.exit_code in (-9, 137), (
        outcome.exit_code,
        outcome.stdout,
        outcome.stderr[-500:],
    )
    if limited_by == "rlimits":
        assert "RLIMIT_AS" in notes[0]


def test_every_default_is_a_real_sandbox() -> None:
    assert ExecutorSettings(github_token="t").sandbox == "bwrap"
    fields = ExecutionInput.model_fields
    assert fields["sandbox"].default == "bwrap"


@pytest.mark.parametrize("name", ["none", "local"])
def test_no_sandbox_is_refused_in_production(name: str) -> None:
    with pytest.raises(ValueError, match="without isolation"):
        ExecutorSettings(github_token="ghp_real_token_value", environment="production", sandbox=name)
    with pytest.raises(SandboxError, match="without isolation"):
        sandbox_for(name, production=True)
    assert sandbox_for(name, production=False).name == "local"


UNCAUGHT_FORK_BOMB = FORK_BOMB.replace("except OSError", "except ZeroDivisionError")
UNCAUGHT_MEMORY_HOG = MEMORY_HOG.replace("except MemoryError", "except ZeroDivisionError")


# The fork bomb's report is the agent's own error, the same through any sandbox: docker's long form is
# heavy. The memory hog's report depends on how the backend kills it (a cgroup's OOM kill, exit 137).
@pytest.mark.parametrize(
    ("kind", "code", "reported"),
    [
        pytest.param("bwrap", UNCAUGHT_FORK_BOMB, "Resource temporarily unavailable", marks=needs_bwrap),
        pytest.param("bwrap", UNCAUGHT_MEMORY_HOG, "memory limit (256 MiB)", marks=needs_bwrap),
        pytest.param(
            "docker",
            UNCAUGHT_FORK_BOMB,
            "Resource temporarily unavailable",
            marks=[*needs_docker, pytest.mark.heavy],
        ),
        pytest.param("docker", UNCAUGHT_MEMORY_HOG, "memory limit (256 MiB)", marks=needs_docker),
    ],
    ids=["bwrap-fork-bomb", "bwrap-memory-hog", "docker-fork-bomb", "docker-memory-hog"],
)
async def test_a_run_whose_agent_hits_a_limit_reports_it(
    kind: str,
    code: str,
    reported: str,
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    if kind == "bwrap" and (
        cgroup_module.pids_cgroup_root() is None or cgroup_module._controller_root("memory") is None
    ):
        pytest.skip("needs writable cgroup pids and memory controllers")
    repo = make_repo(emulator)
    agent = script_agent(tmp_path / "agent.py", code)
    image = "unused"
    if kind == "docker" and DOCKER is not None:
        image = ensure_test_image(DOCKER)
        agent = f"python3 {tmp_path / 'agent.py'}"  # the image's python, not the host's
    async with loop_worker(
        env,
        emulator,
        engine,
        broker,
        tmp_path / "ws",
        agent_command=agent,
        sandbox_read_only=[tmp_path / "agent.py"],
        sandbox_pids_limit=32,
        sandbox_memory_bytes=MEMORY_LIMIT,
        sandbox_image=image,
    ) as worker:
        with pytest.raises(WorkflowFailureError):
            await run_to_end(env.client, loop_request(repo, sandbox=kind), worker.task_queue)
    comments = emulator.comments("alice", repo.name, 1)
    assert len(comments) == 1
    assert reported in comments[0]["body"]
