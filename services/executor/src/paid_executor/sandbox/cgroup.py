"""Process-count and memory limits for a sandboxed process tree: a cgroup (v2, or v1's pids and memory
hierarchies) where the host lets Paid create one, and rlimits for whatever a cgroup cannot limit here.
The limits are never dropped: what is not applied by a cgroup is applied by an rlimit, and the
answer says so, for the run's log."""

from __future__ import annotations

import contextlib
import os
import resource
from dataclasses import dataclass
from pathlib import Path

from paid_executor.agents.process import ChildLimits

V1_ROOT = Path("/sys/fs/cgroup")
V2_ROOT = Path("/sys/fs/cgroup")
PARENT = "paid-sandboxes"


class LimitsUnavailableError(RuntimeError):
    """A limit can be applied neither by a cgroup nor by an rlimit: the sandbox must not start."""


@dataclass(frozen=True)
class Limits:
    pids: int
    memory_bytes: int
    cpu_seconds: int | None  # CPU time per process, by rlimit


@dataclass(frozen=True)
class AppliedLimits:
    child: ChildLimits
    groups: tuple[Path, ...]  # to remove afterwards
    note: str | None  # set when a limit is enforced by an rlimit instead of a cgroup


def pids_cgroup_root() -> Path | None:
    """Where Paid may create pids-limited cgroups on this host, or None."""
    return _controller_root("pids")


def _controller_root(controller: str) -> Path | None:
    v1 = V1_ROOT / controller
    if (v1 / "cgroup.procs").exists():
        return v1 if os.access(v1, os.W_OK) else None
    if controller in _read(V2_ROOT / "cgroup.controllers").split() and os.access(V2_ROOT, os.W_OK):
        return V2_ROOT
    return None


def apply_limits(name: str, limits: Limits) -> AppliedLimits:
    groups: list[Path] = []
    rlimits: list[tuple[int, int]] = []
    fallbacks: list[str] = []
    pids = _make_group("pids", name, {"pids.max": str(limits.pids)})
    if pids is None and os.geteuid() == 0:
        raise LimitsUnavailableError(
            "cannot limit the sandbox's processes: no writable cgroup pids controller, and RLIMIT_NPROC "
            "does not bind processes of root; give the executor a delegated cgroup or run it as a "
            "non-root user"
        )
    if pids is None:
        rlimits.append((resource.RLIMIT_NPROC, limits.pids))
        fallbacks.append(f"processes by RLIMIT_NPROC={limits.pids} (per user, not per run)")
    else:
        groups.append(pids)
    memory_file = "memory.max" if _controller_root("memory") == V2_ROOT else "memory.limit_in_bytes"
    memory = _make_group("memory", name, {memory_file: str(limits.memory_bytes)})
    if memory is None:
        rlimits.append((resource.RLIMIT_AS, limits.memory_bytes))
        fallbacks.append(f"memory by RLIMIT_AS={limits.memory_bytes} (address space per process)")
    elif memory not in groups:
        groups.append(memory)
    if limits.cpu_seconds is not None:
        rlimits.append((resource.RLIMIT_CPU, limits.cpu_seconds))
    note = None
    if fallbacks:
        note = "cgroups are not writable for these limits, so they are enforced as rlimits: " + "; ".join(
            fallbacks
        )
    return AppliedLimits(
        child=ChildLimits(
            cgroup_procs=tuple(group / "cgroup.procs" for group in groups), rlimits=tuple(rlimits)
        ),
        groups=tuple(groups),
        note=note,
    )


def _make_group(controller: str, name: str, settings: dict[str, str]) -> Path | None:
    """A fresh cgroup under `controller`'s hierarchy with `settings` written; None when not allowed."""
    root = _controller_root(controller)
    if root is None:
        return None
    parent = root / PARENT
    group = parent / name
    created = not group.exists()  # on v2 the pids and memory limits share one group
    try:
        parent.mkdir(exist_ok=True)
        if root == V2_ROOT:
            with contextlib.suppress(OSError):
                (parent / "cgroup.subtree_control").write_text(f"+{controller}")
        group.mkdir(exist_ok=True)
        for file, value in settings.items():
            (group / file).write_text(value)
    except OSError:
        if created:
            remove_cgroup(group)
        return None
    return group


def oom_killed(limits: ChildLimits | None) -> bool:
    """Whether the memory cgroup's OOM killer stopped a process of the run (v2 memory.events, v1
    memory.oom_control); call before the cgroups are removed."""
    for procs in limits.cgroup_procs if limits else ():
        for events in ("memory.events", "memory.oom_control"):
            for line in _read(procs.parent / events).splitlines():
                key, _, count = line.partition(" ")
                if key == "oom_kill" and count.strip().isdigit() and int(count) > 0:
                    return True
    return False


def remove_cgroup(group: Path) -> None:
    """Kills what is left in the group, then removes it (a cgroup with tasks cannot be removed)."""
    with contextlib.suppress(OSError):
        for pid in _read(group / "cgroup.procs").split():
            with contextlib.suppress(OSError):
                os.kill(int(pid), 9)
    with contextlib.suppress(OSError):
        group.rmdir()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
