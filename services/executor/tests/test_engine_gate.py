"""The engine gate in front of the real Docker engine: the docker sandbox works through it (create,
start, logs, wait, remove), and a privileged container, a bind of `/`, an image outside the allowlist,
exec, images and containers that are not sandboxes are refused before the engine sees them."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker import DockerClient
from docker.errors import APIError

from paid_devstack import wait_until
from paid_executor.agents.base import Invocation
from paid_executor.sandbox import bridge
from paid_executor.sandbox.base import SandboxRequest
from paid_executor.sandbox.docker import LABEL, DockerSandbox

from .docker_support import can_build_image, docker_client, ensure_test_image

ENGINE = docker_client()
pytestmark = [
    pytest.mark.skipif(ENGINE is None, reason="needs a Docker engine (dockerd), not reachable"),
    pytest.mark.skipif(not can_build_image(), reason="needs the host's python3.11 to build a test image"),
]
ENGINE_SOCKET = Path("/var/run/docker.sock")


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[tuple[DockerClient, Path, str]]:
    """The gate as deployed (its own process), allowing the test image and worktrees under tmp_path/ws."""
    assert ENGINE is not None
    image = ensure_test_image(ENGINE)
    listen, root = tmp_path / "gate.sock", tmp_path / "ws"
    root.mkdir()
    argv = [sys.executable, "-m", "paid_executor.sandbox.engine_gate", "--listen", str(listen)]
    argv += ["--engine", str(ENGINE_SOCKET), "--image", image, "--worktree-root", str(root)]
    argv += ["--read-only", bridge.__file__]
    process = subprocess.Popen(argv)
    try:
        wait_until(listen.exists, timeout=30, what="the gate's socket")
        yield docker.DockerClient(base_url=f"unix://{listen}"), root, image
    finally:
        process.terminate()
        process.wait(timeout=10)


def sandbox_kwargs(image: str, worktree: Path) -> dict[str, object]:
    return {
        "image": image,
        "command": ["python3", "-c", "print('hi')"],
        "user": "1000:1000",
        "read_only": True,
        "network_mode": "none",
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "pids_limit": 64,
        "mem_limit": 256 * 2**20,
        "nano_cpus": 10**9,
        "volumes": {str(worktree): {"bind": str(worktree), "mode": "rw"}},
        "labels": {LABEL: "gate-test"},
    }


@pytest.mark.heavy  # the sandbox's create body is checked against the policy in the default run
def test_the_docker_sandbox_runs_through_the_gate(
    gate: tuple[DockerClient, Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, root, image = gate
    worktree = root / f"run-{uuid.uuid4().hex[:6]}"
    worktree.mkdir()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{root.parent / 'gate.sock'}")  # docker.from_env() reads it
    sandbox = DockerSandbox(image)
    request = SandboxRequest(run_key="gate-test", worktree=worktree, env={"PATH": "/usr/bin"})
    prepared = sandbox.prepare(
        Invocation(argv=["python3", "-c", "print('through the gate')"], stdin=None, env={}), request
    )
    try:
        invocation = prepared.invocation
        done = subprocess.run(
            invocation.argv, env=invocation.env, capture_output=True, text=True, timeout=120
        )
        assert (done.returncode, done.stdout.strip()) == (0, "through the gate"), done.stderr
    finally:
        sandbox.release(prepared)
    assert ENGINE is not None
    assert not ENGINE.containers.list(all=True, filters={"id": prepared.container_id}), "not removed"


def test_what_is_not_a_sandbox_is_refused_before_the_engine_sees_it(
    gate: tuple[DockerClient, Path, str],
) -> None:
    client, root, image = gate
    worktree = root / "run"
    worktree.mkdir()
    assert ENGINE is not None
    before = {c.id for c in ENGINE.containers.list(all=True)}
    refusals = {
        "privileged": sandbox_kwargs(image, worktree) | {"privileged": True},
        "a bind of /": sandbox_kwargs(image, worktree) | {"volumes": {"/": {"bind": "/host", "mode": "rw"}}},
        "another image": sandbox_kwargs("alpine:latest", worktree),
        "no sandbox label": sandbox_kwargs(image, worktree) | {"labels": {}},
    }
    for what, kwargs in refusals.items():
        with pytest.raises(APIError) as refused:
            client.containers.create(**kwargs)
        assert refused.value.status_code == 403, what
        assert "refused by Paid's engine gate" in str(refused.value), what
    assert {c.id for c in ENGINE.containers.list(all=True)} == before, "a refused container was created"
    with pytest.raises(APIError, match="not an endpoint"):
        client.images.list()
    with pytest.raises(APIError, match="not an endpoint"):
        client.api.exec_create("anything", ["sh"])
    outsider = ENGINE.containers.create(image, command=["sleep", "1"])
    try:
        with pytest.raises(APIError, match="only sandbox containers"):
            client.containers.get(outsider.id)
        with pytest.raises(APIError, match="only sandbox containers"):
            client.api.remove_container(outsider.id, force=True)
    finally:
        outsider.remove(force=True)
