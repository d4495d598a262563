"""The sandbox interface: turn an invocation into the command that runs it confined to one worktree."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from paid_executor.agents.base import Invocation
from paid_executor.agents.process import ChildLimits


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
    memory_bytes: int = 2 * 1024**3
    cpus: float = 2.0  # docker's CPU share; with bwrap, cpu_seconds bounds each process instead
    cpu_seconds: int | None = None


@dataclass(frozen=True)
class Prepared:
    invocation: Invocation
    limits: ChildLimits | None = None  # applied to the child before exec
    note: str | None = None  # how the limits were applied, when not as configured (for the run's log)
    cleanup_paths: tuple[Path, ...] = field(default=())
    container_id: str | None = None


class Sandbox(Protocol):
    name: str

    def prepare(self, invocation: Invocation, request: SandboxRequest) -> Prepared: ...

    def release(self, prepared: Prepared) -> None: ...


UNSANDBOXED = frozenset({"none", "local"})  # `local`: the name before `none`, kept for recorded runs


def sandbox_for(
    name: str, *, image: str = "paid/python:3.11", production: bool = False, shared_dir: Path | None = None
) -> Sandbox:
    """`shared_dir`: see ExecutorSettings.sandbox_shared_dir (the docker sandbox's bridge is put there)."""
    from paid_executor.sandbox.bwrap import BubblewrapSandbox
    from paid_executor.sandbox.docker import DockerSandbox
    from paid_executor.sandbox.local import LocalSandbox

    if name in UNSANDBOXED:
        if production:
            raise SandboxError(
                f"sandbox {name!r} runs agents without isolation, which a production executor refuses; "
                "choose bwrap or docker"
            )
        return LocalSandbox()
    if name == "bwrap":
        return BubblewrapSandbox()
    if name == "docker":
        return DockerSandbox(image, shared_dir=shared_dir)
    raise SandboxError(f"unknown sandbox {name!r} (choose bwrap, docker or none)")
