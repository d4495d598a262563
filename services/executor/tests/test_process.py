"""The agent's process group: it dies with a cancelled activity and with a SIGKILLed worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from paid_executor.agents.base import Invocation
from paid_executor.agents.process import AgentTimeoutError, kill_recorded_group, run_agent_process

# The agent leaves a helper in its process group, then becomes a long sleep itself.
SPAWNING_AGENT = ["sh", "-c", "sleep 300 & echo $! > helper.pid; echo working; exec sleep 301"]

WORKER = """
import asyncio, os, sys
from pathlib import Path
from paid_executor.agents.base import Invocation
from paid_executor.agents.process import run_agent_process
cwd = Path(sys.argv[1])
asyncio.run(run_agent_process(
    Invocation(argv=sys.argv[2:], stdin=None, env={}), cwd=cwd, base_env=dict(os.environ),
    timeout=600, pgid_file=cwd / "agent.pgid", on_progress=lambda line: None,
))
"""


def gone(pid: int) -> bool:
    """Exited (a zombie counts: nothing runs any more)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def read_pid(path: Path) -> int:
    wait_for(lambda: path.exists() and path.read_text().strip().isdigit())
    return int(path.read_text())


async def test_cancellation_kills_the_whole_process_group(tmp_path: Path) -> None:
    progress: list[str] = []
    task = asyncio.create_task(
        run_agent_process(
            Invocation(argv=SPAWNING_AGENT, stdin=None, env={}),
            cwd=tmp_path,
            base_env=dict(os.environ),
            timeout=600,
            pgid_file=tmp_path / "agent.pgid",
            on_progress=progress.append,
            progress_interval=0.05,
        )
    )
    agent = await asyncio.to_thread(read_pid, tmp_path / "agent.pgid")
    helper = await asyncio.to_thread(read_pid, tmp_path / "helper.pid")
    await asyncio.to_thread(wait_for, lambda: "working" in progress)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await asyncio.to_thread(wait_for, lambda: gone(agent) and gone(helper))
    assert not (tmp_path / "agent.pgid").exists()


async def test_an_agent_over_its_time_is_stopped(tmp_path: Path) -> None:
    with pytest.raises(AgentTimeoutError):
        await run_agent_process(
            Invocation(argv=SPAWNING_AGENT, stdin=None, env={}),
            cwd=tmp_path,
            base_env=dict(os.environ),
            timeout=0.5,
            pgid_file=tmp_path / "agent.pgid",
            on_progress=lambda _line: None,
        )

    helper = int((tmp_path / "helper.pid").read_text())
    await asyncio.to_thread(wait_for, lambda: gone(helper))


def test_a_killed_worker_takes_its_agent_along_and_the_next_attempt_its_helpers(tmp_path: Path) -> None:
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), *SPAWNING_AGENT])
    try:
        agent = read_pid(tmp_path / "agent.pgid")
        helper = read_pid(tmp_path / "helper.pid")

        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)

        wait_for(lambda: gone(agent))  # PR_SET_PDEATHSIG
        assert not gone(helper)  # a grandchild: only its process group ties it to the attempt
        kill_recorded_group(tmp_path / "agent.pgid")  # what the retried activity does first
        wait_for(lambda: gone(helper))
    finally:
        worker.kill()
        worker.wait()
