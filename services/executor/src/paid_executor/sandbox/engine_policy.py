"""What the Docker engine may be asked to create: sandbox-shaped containers and nothing else.

Whoever holds the engine's socket is root on its host. The executor therefore reaches the engine only
through a narrow gate that checks every `POST /containers/create` body against this policy: an image
from an allowlist, a non-root user, a read-only root, no network (`none`), every capability dropped and
none added, no privileges, devices, host namespaces or extra mounts, limits on memory, CPU and pids, and
binds only under the worktree root (read-write) or under a few read-only roots (the proxy's socket
directory, the bridge script, the agent's tools). It fails closed: a field it does not know is refused
unless it is empty. Bind sources are resolved (symlinks followed) on this side, so a link placed under
the worktree root cannot point a bind elsewhere."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Fields of the create body that the sandbox sets, or that cannot widen what the container may do.
TOP_LEVEL = frozenset(
    {
        "Hostname", "Domainname", "User", "Tty", "OpenStdin", "StdinOnce", "AttachStdin", "AttachStdout",
        "AttachStderr", "Env", "Cmd", "Image", "Volumes", "NetworkDisabled", "Entrypoint", "WorkingDir",
        "HostConfig", "Labels", "StopSignal", "StopTimeout", "Healthcheck", "ArgsEscaped", "OnBuild", "Shell",
    }
)  # fmt: skip
HOST_CONFIG = frozenset(
    {
        "Memory", "MemorySwap", "ReadonlyRootfs", "NetworkMode", "CapDrop", "CapAdd", "SecurityOpt", "Binds",
        "Tmpfs", "PidsLimit", "NanoCpus", "Privileged", "AutoRemove", "Init", "LogConfig", "RestartPolicy",
    }
)  # fmt: skip
ALLOWED_SECURITY_OPTS = frozenset({"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"})
ROOT_USERS = frozenset({"", "0", "root"})


class ContainerRefused(Exception):
    """The request is not sandbox-shaped; the message says which rule it breaks."""


@dataclass(frozen=True)
class EnginePolicy:
    images: frozenset[str]
    worktree_root: Path
    read_only_roots: tuple[Path, ...] = ()

    @classmethod
    def of(
        cls, images: Iterable[str], worktree_root: Path, read_only_roots: Iterable[Path] = ()
    ) -> EnginePolicy:
        return cls(frozenset(images), worktree_root, tuple(read_only_roots))


def check_container_create(body: Mapping[str, Any], policy: EnginePolicy) -> None:
    """Raises ContainerRefused unless `body` (the JSON of `POST /containers/create`) is sandbox-shaped."""
    _only_known(body, TOP_LEVEL, "")
    image = body.get("Image")
    if image not in policy.images:
        raise ContainerRefused(f"image {image!r} is not in the sandbox image allowlist")
    if str(body.get("User") or "").split(":", 1)[0] in ROOT_USERS:
        raise ContainerRefused("the container must run as a non-root user")
    host = body.get("HostConfig")
    if not isinstance(host, Mapping):
        raise ContainerRefused("HostConfig is required (limits, no network, a read-only root)")
    _only_known(host, HOST_CONFIG, "HostConfig.")
    if host.get("Privileged"):
        raise ContainerRefused("privileged containers are refused")
    if host.get("CapAdd"):
        raise ContainerRefused(f"capabilities may not be added: {host['CapAdd']}")
    if "ALL" not in (host.get("CapDrop") or []):
        raise ContainerRefused("every capability must be dropped (CapDrop: [ALL])")
    if host.get("NetworkMode") != "none":
        raise ContainerRefused(f"network mode must be none, not {host.get('NetworkMode')!r}")
    if host.get("ReadonlyRootfs") is not True:
        raise ContainerRefused("the root filesystem must be read-only")
    options = set(host.get("SecurityOpt") or [])
    if not options & ALLOWED_SECURITY_OPTS or options - ALLOWED_SECURITY_OPTS:
        raise ContainerRefused(f"security options must be exactly no-new-privileges, not {sorted(options)}")
    for limit in ("Memory", "PidsLimit", "NanoCpus"):
        if not isinstance(host.get(limit), int) or host[limit] <= 0:
            raise ContainerRefused(f"HostConfig.{limit} must be a positive limit")
    targets = {_check_bind(str(bind), policy) for bind in host.get("Binds") or []}
    if set(body.get("Volumes") or {}) - targets:
        raise ContainerRefused("anonymous volumes are refused; only the checked binds may be mounted")


def _only_known(fields: Mapping[str, Any], known: frozenset[str], prefix: str) -> None:
    """Fail closed: a field the policy does not know may be present only when it is empty or false."""
    for name, value in fields.items():
        if name not in known and value not in (None, False, 0, "", [], {}):
            raise ContainerRefused(f"{prefix}{name} is not allowed in a sandbox container")


def _check_bind(bind: str, policy: EnginePolicy) -> str:
    """`source:target[:options]`; returns the target. Read-write only strictly under the worktree root."""
    source, _, rest = bind.partition(":")
    target, _, options = rest.partition(":")
    if not source.startswith("/") or not target.startswith("/"):
        raise ContainerRefused(f"bind {bind!r}: named volumes and relative paths are refused")
    if options not in ("", "rw", "ro"):
        raise ContainerRefused(f"bind {bind!r}: only the rw and ro options are allowed")
    real = Path(os.path.realpath(source))
    writable = options != "ro"
    if _strictly_under(real, policy.worktree_root):
        return target
    if not writable and any(
        real == root or _strictly_under(real, root) for root in _real(policy.read_only_roots)
    ):
        return target
    kind = "read-write" if writable else "read-only"
    raise ContainerRefused(f"bind {bind!r}: a {kind} bind of {real} is outside the sandbox's allowed paths")


def _strictly_under(path: Path, root: Path) -> bool:
    root = Path(os.path.realpath(root))
    return path != root and path.is_relative_to(root)


def _real(paths: Iterable[Path]) -> list[Path]:
    return [Path(os.path.realpath(path)) for path in paths]
