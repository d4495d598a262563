"""Child processes in their own process group, stopped as a group, and readiness polling."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shlex
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

log = logging.getLogger("paid_devstack")

_TAIL_BYTES = 64 * 1024


class StartupError(RuntimeError):
    """A process exited or did not become ready in time; the message carries its log tail."""


class ManagedProcess:
    """One command run as the leader of a new process group, its output appended to `log_path`.

    Stopping signals the whole group, so helpers the command forks die with it. A `pid_file`
    lets the next start kill a group left over by a run that died without stopping it.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str | os.PathLike[str]],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        inherit_env: bool = True,
        cwd: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        user: str | None = None,
        pid_file: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = [os.fspath(arg) for arg in argv]
        self.log_path = log_path
        self.env = dict(env or {})
        self.inherit_env = inherit_env
        self.cwd = cwd
        self.stop_signal = stop_signal
        self.user = user
        self.pid_file = pid_file
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def start(self) -> None:
        if self.is_running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        if self.pid_file:
            _kill_stale_group(self.pid_file, Path(self.argv[0]).name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env} if self.inherit_env else dict(self.env)
        with self.log_path.open("ab") as log_file:
            command = shlex.join(self.argv).replace("\n", "\\n")
            log_file.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} start: {command}\n".encode())
            log_file.flush()
            self._log_offset = log_file.tell()
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
                user=self.user,
            )
        with _live_lock:
            _live.add(self)
        if self.pid_file:
            self.pid_file.write_text(f"{self._proc.pid} {os.getpid()}\n")
        log.debug("started %s pid=%s", self.name, self._proc.pid)

    def stop(self, timeout: float = 10.0) -> int | None:
        """`stop_signal` to the group, SIGKILL after `timeout`; returns the exit code."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            _signal_group(proc.pid, self.stop_signal)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.1fs; killing it", self.name, timeout)
                kill_tree(proc.pid)
                proc.wait()
        # Members of the group may outlive the leader.
        _signal_group(proc.pid, signal.SIGKILL)
        self._forget()
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL the process and all its descendants, as a crash would (for chaos tests)."""
        proc = self._proc
        if proc is None:
            return
        kill_tree(proc.pid)
        proc.wait()
        self._forget()

    def restart(self, timeout: float = 10.0) -> None:
        self.stop(timeout)
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines this run wrote to the log."""
        try:
            with self.log_path.open("rb") as log_file:
                size = log_file.seek(0, os.SEEK_END)
                log_file.seek(max(self._log_offset, size - _TAIL_BYTES))
                text = log_file.read().decode(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def describe_exit(self) -> str:
        return f"{self.name} exited with code {self.returncode}\n{self.log_excerpt()}"

    def log_excerpt(self) -> str:
        return f"--- last lines of {self.log_path} ---\n{self.log_tail()}"

    def _forget(self) -> None:
        with _live_lock:
            _live.discard(self)
        if self.pid_file:
            self.pid_file.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        if not self.is_running:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ManagedProcess({self.name!r}, pid={self.pid}, running={self.is_running})"


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _kill_stale_group(pid_file: Path, executable_name: str) -> None:
    """Kill the group named in `pid_file` if the process that started it is gone."""
    try:
        pid, owner = (int(field) for field in pid_file.read_text().split())
    except (FileNotFoundError, ValueError):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        is_ours = executable_name.encode() in cmdline and os.getpgid(pid) == pid
    except (FileNotFoundError, ProcessLookupError):
        is_ours = False
    if is_ours and pid_alive(owner):
        raise StartupError(f"{executable_name} (pid {pid}, {pid_file}) is still managed by process {owner}")
    if is_ours:
        log.warning("killing process group %s left over from an earlier run (%s)", pid, pid_file)
        kill_tree(pid)
    pid_file.unlink(missing_ok=True)


def kill_tree(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL `pid`, its process group and every descendant, and wait until they are gone.

    The group alone is not enough: postgres's children call setsid(), for one, and would linger
    holding shared memory that blocks the next postmaster from starting.
    """
    doomed = [pid, *descendants(pid)]
    _signal_group(pid, signal.SIGKILL)
    for member in doomed:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(member, signal.SIGKILL)
    wait_until(
        lambda: not any(pid_alive(member) for member in doomed),
        timeout=timeout,
        what=f"descendants of {pid} to exit",
    )


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


# Safety net for interpreters that exit without stopping what they started.
_live: set[ManagedProcess] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_live_processes() -> None:
    with _live_lock:
        leftovers = list(_live)
    for process in leftovers:
        process.stop(timeout=5.0)


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    process: ManagedProcess | None = None,
) -> None:
    """Poll `check` until it returns True; fail early if `process` exits, or at the deadline."""
    deadline = time.monotonic() + timeout
    interval = 0.01
    while True:
        if process is not None and not process.is_running:
            raise StartupError(f"{process.describe_exit()}\n(while waiting for {what})")
        if check():
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            detail = f"\n{process.log_excerpt()}" if process is not None else ""
            raise StartupError(f"timed out after {timeout:.1f}s waiting for {what}{detail}")
        time.sleep(min(interval, remaining))
        interval = min(interval * 1.5, 0.2)


def tcp_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_tcp(host: str, port: int, timeout: float = 30.0, process: ManagedProcess | None = None) -> None:
    wait_until(lambda: tcp_accepts(host, port), timeout=timeout, what=f"tcp {host}:{port}", process=process)


def wait_http_ok(url: str, timeout: float = 30.0, process: ManagedProcess | None = None) -> None:
    """Poll until GET `url` answers 2xx. Proxy variables are ignored: these are local servers."""
    with httpx.Client(trust_env=False, timeout=2.0) as client:

        def answers_ok() -> bool:
            try:
                return client.get(url).is_success
            except httpx.HTTPError:
                return False

        wait_until(answers_ok, timeout=timeout, what=f"GET {url} -> 2xx", process=process)
