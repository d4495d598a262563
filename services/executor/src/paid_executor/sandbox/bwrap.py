"""bubblewrap: no daemon, no network but the proxy, a clean environment, the worktree the only
writable path, an unprivileged user inside, and process, memory and CPU limits (cgroup.py)."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

from paid_executor.agents.base import Invocation
from paid_executor.sandbox.base import Prepared, SandboxError, SandboxRequest
from paid_executor.sandbox.cgroup import Limits, LimitsUnavailableError, apply_limits, remove_cgroup
from paid_executor.sandbox.editable_sources import unneeded_editable_sources
from paid_executor.sandbox.relay import relay_command, socat_path

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What programs need from /etc, and nothing else (no credentials, no host configuration).
ETC_FILES = (
    "/etc/alternatives",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/hosts",
)
SANDBOX_UID = 1000
log = logging.getLogger(__name__)
HOME = "/tmp/home"


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


class BubblewrapSandbox:
    name = "bwrap"

    def __init__(self, *, prefer_socat: bool = True) -> None:
        """prefer_socat=False: the Python bridge relays to the proxy even where socat is installed."""
        self.socat = socat_path(SYSTEM_DIRS) if prefer_socat else None

    def prepare(self, invocation: Invocation, request: SandboxRequest) -> Prepared:
        executable = bwrap_path()
        if executable is None:
            raise SandboxError(
                "the bwrap sandbox needs bubblewrap (apt-get install bubblewrap); "
                "or choose PAID_EXECUTOR_SANDBOX=none explicitly (no isolation; refused in production)"
            )
        args = [executable, "--die-with-parent", "--new-session", "--unshare-all", "--unshare-user"]
        args += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "paid-sandbox"]
        for directory in SYSTEM_DIRS:
            path = Path(directory)
            if path.is_symlink():
                args += ["--symlink", str(path.readlink()), directory]
            elif path.exists():
                args += ["--ro-bind", directory, directory]
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", HOME]
        for etc in ETC_FILES:
            args += ["--ro-bind-try", etc, etc]
        identity_args, identity_files = _identity_files(request)
        args += identity_args
        for path in _interpreter_paths() + list(request.read_only):
            args += ["--ro-bind-try", str(path), str(path)]
        args += ["--bind", str(request.worktree), str(request.worktree), "--chdir", str(request.worktree)]
        env = request.env | invocation.env | {"HOME": HOME, "USER": "agent", "LOGNAME": "agent"}
        command = list(invocation.argv)
        if request.proxy_socket is not None and request.proxy_port is not None:
            inside = "/run/paid/proxy.sock"
            args += ["--ro-bind", str(request.proxy_socket), inside]
            command = relay_command(request.proxy_port, inside, command, socat=self.socat)
        args += ["--remount-ro", "/", "--clearenv"]
        for key, value in sorted(env.items()):
            args += ["--setenv", key, value]
        try:
            applied = apply_limits(
                request.run_key, Limits(request.pids_limit, request.memory_bytes, request.cpu_seconds)
            )
        except LimitsUnavailableError as error:
            for path in identity_files:
                path.unlink(missing_ok=True)
            raise SandboxError(str(error)) from error
        if applied.note:
            log.warning("sandbox %s: %s", request.run_key, applied.note)
        return Prepared(
            Invocation(argv=[*args, "--", *command], stdin=invocation.stdin, env={}),
            limits=applied.child,
            note=applied.note,
            cleanup_paths=(*identity_files, *applied.groups),
        )

    def release(self, prepared: Prepared) -> None:
        for path in prepared.cleanup_paths:
            if path.is_file():
                path.unlink(missing_ok=True)
            else:
                remove_cgroup(path)


def _interpreter_paths() -> list[Path]:
    """The worker's Python (for the bridge and Python agents) and the workspace's installed tools."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}
    # Editable installs put the workspace's sources on sys.path: the demo agent and the Python bridge
    # need the executor's and its libs'.
    paths |= {Path(entry) for entry in sys.path if entry and Path(entry).is_dir()}
    paths -= unneeded_editable_sources()
    wanted = sorted(path for path in paths if not str(path).startswith(SYSTEM_DIRS))
    # A path under another one is in its bind already (bwrap binds recursively); each mount left out
    # is ~1 ms off every sandbox's start.
    return [
        path for path in wanted if not any(path != other and path.is_relative_to(other) for other in wanted)
    ]


def _identity_files(request: SandboxRequest) -> tuple[list[str], list[Path]]:
    """A passwd and group naming only the sandbox's user, so tools that look themselves up work."""
    passwd = request.worktree.parent / f"{request.run_key}.passwd"
    group = request.worktree.parent / f"{request.run_key}.group"
    passwd.write_text(f"agent:x:{SANDBOX_UID}:{SANDBOX_UID}:agent:{HOME}:/bin/sh\n")
    group.write_text(f"agent:x:{SANDBOX_UID}:\n")
    return ["--ro-bind", str(passwd), "/etc/passwd", "--ro-bind", str(group), "/etc/group"], [passwd, group]
