"""Docker: a read-only root, tmpfs scratch space, a non-root user, CPU, memory and pids limits, and
no network but the metering proxy (its unix socket mounted in, relayed to loopback by the bridge)."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import uuid
from pathlib import Path

import docker
from docker import DockerClient
from docker.errors import DockerException

from paid_executor.agents.base import Invocation
from paid_executor.sandbox import bridge
from paid_executor.sandbox.base import Prepared, SandboxError, SandboxRequest

SANDBOX_UID = 1000
LABEL = "paid.sandbox"
WORKER_HOST_LABEL = "paid.worker.host"
WORKER_PID_LABEL = "paid.worker.pid"
INSIDE_SOCKET = "/run/paid/proxy.sock"
INSIDE_BRIDGE = "/run/paid/bridge.py"


class DockerSandbox:
    name = "docker"

    def __init__(self, image: str, *, shared_dir: Path | None = None) -> None:
        """`shared_dir`: a directory at the same path on the engine's host (a containerised executor's
        files are not where the engine resolves a bind): the bridge is bound from a copy there."""
        self.image = image
        self.shared_dir = shared_dir

    def _client(self) -> DockerClient:
        try:
            client = docker.from_env()
            client.ping()
        except DockerException as error:
            raise SandboxError(f"the docker sandbox needs a Docker engine: {error}") from error
        return client

    def prepare(self, invocation: Invocation, request: SandboxRequest) -> Prepared:
        client = self._client()
        uid = SANDBOX_UID if os.getuid() == 0 else os.getuid()
        if os.getuid() == 0:
            _chown_tree(request.worktree, uid)
        volumes = {str(request.worktree): {"bind": str(request.worktree), "mode": "rw"}}
        for path in request.read_only:
            volumes[str(path)] = {"bind": str(path), "mode": "ro"}
        command = list(invocation.argv)
        if request.proxy_socket is not None and request.proxy_port is not None:
            volumes[str(request.proxy_socket)] = {"bind": INSIDE_SOCKET, "mode": "ro"}
            volumes[str(self._bridge())] = {"bind": INSIDE_BRIDGE, "mode": "ro"}
            command = ["python3", "-S", INSIDE_BRIDGE, str(request.proxy_port), INSIDE_SOCKET, "--", *command]
        env = request.env | invocation.env | {"HOME": "/tmp/home", "USER": "agent"}
        try:
            container = client.containers.create(
                self.image,
                command=command,
                name=f"paid-{request.run_key}-{uuid.uuid4().hex[:6]}",
                environment=env,
                working_dir=str(request.worktree),
                user=f"{uid}:{uid}",
                read_only=True,
                tmpfs={"/tmp": "rw,size=256m,mode=1777", "/run/paid-scratch": "rw,size=1m"},
                network_mode="none",
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                pids_limit=request.pids_limit,
                mem_limit=request.memory_bytes,
                memswap_limit=request.memory_bytes,  # no swap beyond the limit
                nano_cpus=int(request.cpus * 1e9),
                volumes=volumes,
                labels={
                    LABEL: request.run_key,
                    WORKER_HOST_LABEL: socket.gethostname(),
                    WORKER_PID_LABEL: str(os.getpid()),
                },
            )
        except Exception as error:
            if os.getuid() == 0:
                _chown_tree(request.worktree, 0)
            raise SandboxError(f"the docker sandbox could not create a container: {error}") from error
        attach = [sys.executable, "-m", "paid_executor.sandbox.docker_attach", container.id]
        return Prepared(
            Invocation(argv=attach, stdin=None, env=dict(os.environ)),
            cleanup_paths=(request.worktree,),
            container_id=container.id,
        )

    def _bridge(self) -> Path:
        source = Path(bridge.__file__)
        if self.shared_dir is None:
            return source
        copy = self.shared_dir / "bridge.py"
        code = source.read_bytes()
        if not copy.is_file() or copy.is_symlink() or copy.read_bytes() != code:
            self.shared_dir.mkdir(parents=True, exist_ok=True)
            staged = self.shared_dir / f".bridge-{uuid.uuid4().hex}.py"
            staged.write_bytes(code)
            staged.chmod(0o644)
            staged.replace(copy)  # atomic: a sandbox starting meanwhile binds the old or the new file
        return copy

    def release(self, prepared: Prepared) -> None:
        with contextlib.suppress(DockerException, SandboxError):
            if prepared.container_id is not None:
                self._client().containers.get(prepared.container_id).remove(force=True)
        for worktree in prepared.cleanup_paths:
            if os.getuid() == 0 and worktree.exists():
                _chown_tree(worktree, 0)


def _chown_tree(root: Path, uid: int) -> None:
    """The container's user must own the worktree to write it; Paid takes it back afterwards."""
    os.lchown(root, uid, uid)
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            with contextlib.suppress(OSError):
                os.lchown(os.path.join(directory, name), uid, uid)


def reap_orphans(client: DockerClient) -> list[str]:
    """Removes sandbox containers whose worker, on this host, is gone (killed before its cleanup
    ran). Containers of live workers, and of other hosts sharing the engine, are left alone."""
    removed = []
    host = socket.gethostname()
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        labels = container.labels or {}
        if labels.get(WORKER_HOST_LABEL) != host or _alive(labels.get(WORKER_PID_LABEL, "")):
            continue
        with contextlib.suppress(DockerException):
            container.remove(force=True)
            removed.append(container.name)
    return removed


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return True  # unknown: never remove what might be in use
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
