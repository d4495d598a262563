"""Escape attempts against each sandbox on the real thing (bubblewrap; Docker on a real engine with
a locally imported image): the network, the host's environment and files, writes outside the
worktree, and a fork bomb against the pids limit."""

from __future__ import annotations

import json
import socket
import sys
import uuid
from pathlib import Path

import pytest

from paid_executor.agents.base import Invocation
from paid_executor.agents.process import ProcessOutcome, run_agent_process
from paid_executor.proxy import Budget, MeteringProxy
from paid_executor.proxy.server import Upstreams
from paid_executor.sandbox import SandboxRequest, sandbox_for
from paid_executor.sandbox.bwrap import bwrap_path
from paid_executor.sandbox.cgroup import pids_cgroup_root

from .docker_support import can_build_image, docker_client, ensure_test_image
from .loop_support import ScriptedAnthropic

DOCKER = docker_client()


@pytest.fixture(
    params=[
        pytest.param(
            "bwrap",
            marks=pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed"),
        ),
        pytest.param(
            "docker",
            marks=[
                pytest.mark.skipif(DOCKER is None, reason="needs a Docker engine (dockerd), not reachable"),
                pytest.mark.skipif(
                    not can_build_image(), reason="needs the host's python3.11 to build a test image"
                ),
            ],
        ),
    ]
)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def image(kind: str) -> str:
    return ensure_test_image(DOCKER) if kind == "docker" and DOCKER is not None else ""


ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


async def sandboxed(
    kind: str,
    image: str,
    tmp_path: Path,
    code: str,
    *,
    proxy: MeteringProxy | None = None,
    env: dict[str, str] | None = None,
    pids: int = 512,
    memory: int = 2 * 1024**3,
) -> ProcessOutcome:
    worktree = tmp_path / "worktree"
    worktree.mkdir(exist_ok=True)
    sandbox = sandbox_for(kind, image=image)
    python = "python3" if kind == "docker" else sys.executable
    request = SandboxRequest(
        run_key=f"test-{uuid.uuid4().hex[:8]}",
        worktree=worktree,
        env=ENV | (env or {}),
        proxy_socket=proxy.socket_path if proxy else None,
        proxy_port=proxy.port if proxy else None,
        pids_limit=pids,
        memory_bytes=memory,
    )
    prepared = sandbox.prepare(Invocation(argv=[python, "-c", code], stdin=None, env={}), request)
    try:
        return await run_agent_process(
            prepared.invocation,
            cwd=worktree,
            base_env={},
            timeout=60,
            pgid_file=tmp_path / "pgid",
            on_progress=lambda line: None,
            limits=prepared.limits,
        )
    finally:
        sandbox.release(prepared)
        if DOCKER is not None and kind == "docker":
            left = DOCKER.containers.list(all=True, filters={"label": f"paid.sandbox={request.run_key}"})
            assert not left, "the container outlived its run"


async def test_no_network_but_the_metering_proxy(kind: str, image: str, tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    host_port = listener.getsockname()[1]
    code = f"""
import json, os, socket, urllib.request
def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=3).close()
        return True
    except OSError:
        return False
req = urllib.request.Request(os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages",
    data=json.dumps({{"model": "claude-sonnet-4-5", "messages": []}}).encode(),
    headers={{"x-api-key": os.environ["ANTHROPIC_API_KEY"], "content-type": "application/json"}})
proxied = json.loads(urllib.request.urlopen(req, timeout=10).read())["type"]
print(json.dumps({{"host_loopback": reach("127.0.0.1", {host_port}), "internet": reach("1.1.1.1", 80),
                  "dns": reach("example.com", 80), "proxy": proxied}}))
"""
    with ScriptedAnthropic() as upstream:
        proxy = MeteringProxy(Upstreams(anthropic_url=upstream.url), tmp_path / "proxy.sock")
        await proxy.start()
        try:
            token, ledger = proxy.open_run("r", Budget())
            env = {"ANTHROPIC_BASE_URL": proxy.url, "ANTHROPIC_API_KEY": token}
            outcome = await sandboxed(kind, image, tmp_path, code, proxy=proxy, env=env)
        finally:
            await proxy.stop()
            listener.close()
    assert outcome.exit_code == 0, outcome.stderr
    assert json.loads(outcome.last_line) == {
        "host_loopback": False,
        "internet": False,
        "dns": False,
        "proxy": "message",
    }
    assert upstream.calls == 1
    assert ledger.tokens == 1500


async def test_no_host_environment_or_secrets(
    kind: str, image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAID_EXECUTOR_GITHUB_TOKEN", "ghp_host_secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws_host_secret")
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("host file secret")
    code = f"""
import json, os, pathlib
def read(path):
    try:
        return pathlib.Path(path).read_text()[:50]
    except OSError as error:
        return type(error).__name__
print(json.dumps({{"env": dict(os.environ), "file": read({str(secret_file)!r}), "root": read("/root/.bashrc"),
                  "uid": os.getuid()}}))
"""
    outcome = await sandboxed(kind, image, tmp_path, code)
    assert outcome.exit_code == 0, outcome.stderr
    seen = json.loads(outcome.last_line)
    assert "ghp_host_secret" not in outcome.stdout
    assert "aws_host_secret" not in outcome.stdout
    assert set(seen["env"]) <= set(ENV) | {"HOME", "USER", "LOGNAME", "PWD", "HOSTNAME"}
    assert seen["file"] == "FileNotFoundError"
    assert seen["root"] == "FileNotFoundError"
    assert seen["uid"] != 0


async def test_no_writes_outside_the_worktree(kind: str, image: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("original")
    code = f"""
import json, pathlib
results = {{}}
targets = ["written.txt", {str(outside)!r}, "/etc/paid-escape", "/usr/paid-escape"]
for path in targets + [{str(sys.prefix)!r} + "/x"]:
    try:
        pathlib.Path(path).write_text("escaped")
        results[path] = "written"
    except OSError as error:
        results[path] = type(error).__name__
print(json.dumps(results))
"""
    outcome = await sandboxed(kind, image, tmp_path, code)
    assert outcome.exit_code == 0, outcome.stderr
    results = json.loads(outcome.last_line)
    assert results.pop("written.txt") == "written"
    # /tmp is the sandbox's own tmpfs: a write there lands in it and vanishes with it.
    results.pop(str(outside))
    assert "written" not in results.values(), results
    assert (tmp_path / "worktree" / "written.txt").read_text() == "escaped"
    assert outside.read_text() == "original"
    assert not Path("/etc/paid-escape").exists()


@pytest.mark.skipif(pids_cgroup_root() is None, reason="needs a writable cgroup pids controller")
async def test_a_fork_bomb_hits_the_pids_limit(kind: str, image: str, tmp_path: Path) -> None:
    code = """
import os, subprocess, time
children = []
try:
    for _ in range(200):
        children.append(subprocess.Popen(["sleep", "31.4159"]))
except OSError as error:
    print(f"stopped at {len(children)}: {type(error).__name__}")
else:
    print(f"started {len(children)}")
"""
    outcome = await sandboxed(kind, image, tmp_path, code, pids=32)
    assert outcome.last_line.startswith("stopped at"), outcome.stdout + outcome.stderr
    started = int(outcome.last_line.split()[2].rstrip(":"))
    assert started < 32
    assert (
        "BlockingIOError" in outcome.last_line
        or "OSError" in outcome.last_line
        or "Error" in outcome.last_line
    )
    assert not [
        proc for proc in Path("/proc").iterdir() if proc.name.isdigit() and b"31.4159" in _cmdline(proc)
    ], "sandboxed processes outlived the sandbox"


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


async def test_a_memory_hog_hits_the_memory_limit(kind: str, image: str, tmp_path: Path) -> None:
    code = """
chunks = []
try:
    for _ in range(64):
        chunks.append(bytearray(64 * 1024 * 1024))
except MemoryError:
    print(f"stopped at {len(chunks) * 64} MiB: MemoryError")
else:
    print(f"allocated {len(chunks) * 64} MiB")
"""
    outcome = await sandboxed(kind, image, tmp_path, code, memory=256 * 1024**2)
    assert not outcome.last_line.startswith("allocated"), outcome.stdout
    # An rlimit makes the allocation fail; a cgroup's OOM killer ends the process (docker: 137).
    assert outcome.last_line.endswith("MemoryError") or outcome.exit_code in (-9, 137), outcome
