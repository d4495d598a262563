"""Runs an agent as the leader of its own process group, which dies with the worker.

`PR_SET_PDEATHSIG` makes the kernel SIGKILL the agent when the worker dies, even by SIGKILL; the
agent's own children share its process group, which cancellation, timeouts and the next attempt
(through the pgid file) kill as a whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import resource
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from paid_executor.agents.base import Invocation

PR_SET_PDEATHSIG = 1
OUTPUT_LIMIT = 1_000_000
OUTPUT_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class ProcessOutcome:
    exit_code: int
    stdout: str
    stderr: str
    last_line: str
    memory_exhausted: bool = False  # the sandbox's memory cgroup killed a process of it


class AgentTimeoutError(Exception):
    pass


@dataclass(frozen=True)
class ChildLimits:
    """Applied in the child between fork and exec, so every descendant inherits them."""

    cgroup_procs: tuple[Path, ...] = ()  # cgroups the child joins
    rlimits: tuple[tuple[int, int], ...] = ()  # (resource.RLIMIT_*, limit), soft and hard alike


def _die_with_parent(limits: ChildLimits | None = None) -> None:
    for procs in limits.cgroup_procs if limits else ():  # before exec: descendants are counted too
        try:
            procs.write_text(str(os.getpid()))
        except OSError:
            os._exit(126)
    for kind, value in limits.rlimits if limits else ():
        try:
            resource.setrlimit(kind, (value, value))
        except (OSError, ValueError):
            os._exit(126)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(127)
    # The parent may have died between fork and prctl: then nobody would deliver the signal.
    if os.getppid() == 1:
        os._exit(127)


def watch_children_with_pidfds() -> bool:
    """Makes the running loop wait for child processes through pidfds, where the kernel has them.

    Python 3.11's default (ThreadedChildWatcher) blocks one thread in waitpid() per child: 1,000
    waiting agents are 1,000 threads and about 16 KiB of RSS each (bench/child_watchers.py). A pidfd
    is one file descriptor the event loop polls. Python 3.12 makes this choice by itself. Call once,
    from the loop that starts every agent: the watcher serves that loop only."""
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:  # a kernel before 5.3, or a seccomp profile that refuses it
        return False
    watcher = asyncio.PidfdChildWatcher()
    watcher.attach_loop(asyncio.get_running_loop())
    asyncio.set_child_watcher(watcher)
    return True


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def kill_recorded_group(pgid_file: Path) -> None:
    """Kills what a previous attempt (on a worker that was killed) left running."""
    try:
        pgid = int(pgid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return
    if pgid > 1 and pgid != os.getpgrp():
        kill_group(pgid)
    pgid_file.unlink(missing_ok=True)


def _record_group(pgid_file: Path, pgid: int) -> None:
    pgid_file.write_text(str(pgid))


def _forget_group(pgid_file: Path) -> None:
    pgid_file.unlink(missing_ok=True)


async def run_agent_process(
    invocation: Invocation,
    *,
    cwd: Path,
    base_env: Mapping[str, str],
    timeout: float,
    pgid_file: Path,
    on_progress: Callable[[str], None],
    progress_interval: float = 1.0,
    on_line: Callable[[str], None] | None = None,
    limits: ChildLimits | None = None,
) -> ProcessOutcome:
    """Runs to completion, calling `on_progress(last output line)` every `progress_interval` seconds.

    On timeout or cancellation the whole process group is killed before the exception propagates.
    """
    process = await asyncio.create_subprocess_exec(
        *invocation.argv,
        cwd=cwd,
        env={**base_env, **invocation.env},
        stdin=asyncio.subprocess.PIPE if invocation.stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=functools.partial(_die_with_parent, limits),
    )
    _record_group(pgid_file, process.pid)
    stdout: list[str] = []
    stderr: list[str] = []
    last_line = [""]

    async def pump(stream: asyncio.StreamReader | None, sink: list[str]) -> None:
        if stream is None:
            return
        size = 0
        while line := await stream.readline():
            text = line.decode(errors="replace")
            if size < OUTPUT_LIMIT:
                sink.append(text)
                size += len(text)
            if text.strip():
                last_line[0] = text.strip()
            if on_line is not None:
                on_line(text)

    async def feed() -> None:
        if process.stdin is None or invocation.stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.write(invocation.stdin)
            await process.stdin.drain()
        process.stdin.close()

    async def report() -> None:
        while True:
            on_progress(last_line[0])
            await asyncio.sleep(progress_interval)

    reporter = asyncio.create_task(report())
    pumps = asyncio.gather(pump(process.stdout, stdout), pump(process.stderr, stderr))
    try:
        async with asyncio.timeout(timeout):
            await feed()
            exit_code = await process.wait()
            try:
                await asyncio.wait_for(asyncio.shield(pumps), OUTPUT_GRACE_SECONDS)
            except TimeoutError:  # a helper the agent left running holds its stdout open
                kill_group(process.pid)
                await pumps
    except BaseException as error:
        kill_group(process.pid)
        with contextlib.suppress(BaseException):
            await asyncio.shield(asyncio.gather(process.wait(), pumps))
        if isinstance(error, TimeoutError):
            raise AgentTimeoutError(f"the agent ran longer than {timeout:g} s and was stopped") from None
        raise
    finally:
        reporter.cancel()
        _forget_group(pgid_file)
    # The leader exited; helpers it left in the group must not outlive the attempt.
    kill_group(process.pid)
    return ProcessOutcome(exit_code, "".join(stdout), "".join(stderr), last_line[0])
