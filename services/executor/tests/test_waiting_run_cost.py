"""What a run waiting on its agent costs the worker: no thread per agent process, and no timer while
the agent is silent (bench/concurrent_runs.py measures the memory and the ramp at 1,000 runs)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from faststream.nats import NatsBroker

from paid_contracts import IssueRef, RepoRef, RunOutputAppended
from paid_devstack import wait_until_async
from paid_executor.activities import output
from paid_executor.activities.output import OutputPublisher
from paid_executor.params import RunContext

AGENTS = 5
# In a fresh interpreter (the watcher is global): AGENTS long agents, the threads added while they
# run, then their exit codes.
WATCHING = f"""
import asyncio, threading
from paid_executor.agents.process import watch_children_with_pidfds

async def main():
    assert watch_children_with_pidfds()
    before = threading.active_count()
    agents = [await asyncio.create_subprocess_exec("sleep", "300") for _ in range({AGENTS})]
    print(threading.active_count() - before)
    for agent in agents:
        agent.kill()
    print(*await asyncio.gather(*(agent.wait() for agent in agents)))

asyncio.run(main())
"""


async def test_agents_are_awaited_through_pidfds_without_a_thread_each() -> None:
    out = subprocess.run(
        [sys.executable, "-c", WATCHING], check=True, capture_output=True, text=True, timeout=120
    ).stdout.splitlines()
    assert int(out[0]) == 0
    assert out[1].split() == ["-9"] * AGENTS  # each kill was seen: the processes were awaited
    # This test's loop keeps asyncio's default, for contrast: a thread blocked in waitpid() per agent.
    agents = [await asyncio.create_subprocess_exec("sleep", "300") for _ in range(AGENTS)]
    try:  # asyncio names them asyncio-waitpid-<n>
        assert sum(thread.name.startswith("asyncio-waitpid-") for thread in threading.enumerate()) >= AGENTS
    finally:
        for agent in agents:
            agent.kill()
        await asyncio.gather(*(agent.wait() for agent in agents))


class Recorder:
    def __init__(self) -> None:
        self.events: list[RunOutputAppended] = []

    async def __call__(self, broker: object, event: RunOutputAppended, *, timeout: float) -> None:
        self.events.append(event)


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(output, "publish_event", recorder)
    return recorder


def publisher() -> OutputPublisher:
    run = RunContext(
        run_id="run-1",
        workflow_id="exec:alice/calc#1:1",
        issue=IssueRef(repo=RepoRef(owner="alice", name="calc"), number=1),
        agent="command",
        prompt_version="v1",
        started_at=datetime.now(UTC),
    )
    return OutputPublisher(cast(NatsBroker, None), run, attempt=1)


def scheduled_timers() -> int:
    # The event loop's pending call_later handles: asyncio.sleep() adds one, an Event.wait() does not.
    return len(cast(Any, asyncio.get_running_loop())._scheduled)


async def test_a_silent_agent_output_sets_no_timer(published: Recorder) -> None:
    before = scheduled_timers()
    async with publisher():
        for _ in range(10):  # the flush task runs up to where it waits
            await asyncio.sleep(0)
        assert scheduled_timers() == before
    assert published.events == []


async def test_lines_are_published_in_batches_as_they_arrive(published: Recorder) -> None:
    async with publisher() as out:
        out.line("first\n")
        out.line("second\n")
        await wait_until_async(lambda: len(published.events) == 1, timeout=60, what="the first batch")
        out.line("third\n")
        await wait_until_async(lambda: len(published.events) == 2, timeout=60, what="the second batch")
        out.line("last\n")
    assert [event.lines for event in published.events] == [("first", "second"), ("third",), ("last",)]
    assert [event.sequence for event in published.events] == [0, 1, 2]
