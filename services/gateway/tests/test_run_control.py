"""`paid cancel|pause|resume|instruct|status` against a real NATS server, answered by a stand-in
for the executor's command subjects that records what the CLI sent."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from typer.testing import CliRunner

from paid_contracts import CommandReply, RunStatusView
from paid_devstack.nats import NatsServer
from paid_gateway.cli import app


class ExecutorStandIn:
    """Answers every `paid.executor.cmd.*` request with a fixed status, in a thread of its own."""

    def __init__(self, url: str, reply: CommandReply) -> None:
        self.url, self.reply = url, reply
        self.received: list[tuple[str, bytes]] = []
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        client = await nats.connect(self.url)

        async def answer(message: nats.aio.msg.Msg) -> None:
            self.received.append((message.subject, message.data))
            await message.respond(self.reply.model_dump_json().encode())

        await client.subscribe("paid.executor.cmd.*", cb=answer)
        await client.flush()
        self._ready.set()
        await self._stop.wait()
        await client.close()

    def __enter__(self) -> ExecutorStandIn:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with NatsServer(Path(tmp_path_factory.mktemp("nats")), sync_always=False) as server:
        yield server


STATUS = RunStatusView(
    workflow_id="exec:acme/calc#7",
    run_id="r1",
    running=True,
    step="agent",
    iteration=2,
    max_iterations=3,
    tokens=1500,
    cost_usd=0.0105,
    last_output="editing calc.py",
)


def test_each_command_reaches_its_subject_with_the_issue(nats_server: NatsServer) -> None:
    runner = CliRunner()
    with ExecutorStandIn(nats_server.url, CommandReply(ok=True, status=STATUS)) as executor:
        for args, subject in [
            (["cancel", "acme/calc#7", "--actor", "alice"], "paid.executor.cmd.cancel"),
            (["pause", "acme/calc#7"], "paid.executor.cmd.pause"),
            (["resume", "acme/calc#7"], "paid.executor.cmd.resume"),
            (["instruct", "acme/calc#7", "keep the API stable"], "paid.executor.cmd.instruct"),
            (["status", "acme/calc#7"], "paid.executor.cmd.status"),
        ]:
            result = runner.invoke(app, [*args, "--nats", nats_server.url])
            assert result.exit_code == 0, result.output
            assert "exec:acme/calc#7 run r1: agent, iteration 2 of 3, 1500 tokens" in result.output
            assert executor.received[-1][0] == subject
    cancel = executor.received[0][1].decode()
    assert '"owner":"acme"' in cancel
    assert '"number":7' in cancel
    assert '"actor":"alice"' in cancel
    assert '"instruction":"keep the API stable"' in executor.received[3][1].decode()


def test_a_refusal_and_a_missing_executor_are_reported(nats_server: NatsServer) -> None:
    runner = CliRunner()
    with ExecutorStandIn(nats_server.url, CommandReply(ok=False, error="exec:acme/calc#7 is not running")):
        refused = runner.invoke(app, ["cancel", "acme/calc#7", "--nats", nats_server.url])
    assert refused.exit_code == 1
    assert "is not running" in refused.output
    nobody = runner.invoke(app, ["status", "acme/calc#7", "--nats", nats_server.url])
    assert nobody.exit_code == 2
    assert "No executor answered" in nobody.output
    bad = runner.invoke(app, ["status", "not-an-issue", "--nats", nats_server.url])
    assert bad.exit_code != 0
    assert "owner/repo#number" in bad.output
