"""The sandbox interface: turn an invocation into the command that runs it confined to one worktree."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from paid_executor.agents.base import Invocation


class SandboxError(RuntimeError):
    """The sandbox cannot be set up on this host (missing tool, no permission); not the agent's fault."""


@dataclass(frozen=True)
class SandboxRequest:
    run_key: str  # unique per run and iteration, safe as a path segment
    worktree: Path  # the only path the agent may write
    env: dict[str, str]  # the complete environment the agent sees
    read_only: tuple[Path, ...] = ()  # extra host paths it may read (the prompt file, tool installs)
    proxy_socket: Path | None = None  # the metering proxy, reachable as proxy_port on loopback inside
    proxy_port: int | None = None
    pids_limit: int = 512
    memory_bytes: int | None = None


@dataclass(frozen=True)
class Prepared:
    invocation: Invocation
    cgroup_procs: Path | None = None  # the child joins this cgroup before exec
    cleanup_paths: tuple[Path, ...] = field(default=())
    container_id: str | None = None


class Sandbox(Protocol):
    name: str

    def prepare(self, invocation: Invocation, request: SandboxRequest) -> Prepared: ...

    def release(self, prepared: Prepared) -> None: ...


def sandbox_for(name: str, *, image: str = "paid/python:3.11") -> Sandbox:
    from paid_executor.sandbox.bwrap import BubblewrapSandbox
    from paid_executor.sandbox.docker import DockerSandbox
    from paid_executor.sandbox.local import LocalSandbox

    if name == "local":
        return LocalSandbox()
    if name == "bwrap":
        return BubblewrapSandbox()
    if name == "docker":
        return DockerSandbox(image)
    raise SandboxError(f"unknown sandbox {name!r} (choose bwrap, docker or local)")
