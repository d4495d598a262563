"""SIGKILL each server and start it again on the same data: acknowledged work must survive."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import nats
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from paid_devstack import EmbeddedPostgres, NatsServer, TemporalDevServer
from paid_devstack.processes import descendants, pid_alive

pytestmark = pytest.mark.integration


async def test_nats_keeps_acknowledged_messages_across_kill_9(tmp_path: Path) -> None:
    with NatsServer(tmp_path) as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name="CRASH", subjects=["crash.>"])
        await js.publish("crash.event", b"payload", headers={"Nats-Msg-Id": "m-1"})
        await nc.close()

        pid_before = server.process.pid
        server.kill()
        assert not server.is_running
        server.start()
        assert server.process.pid != pid_before

        nc = await nats.connect(server.url)
        try:
            js = nc.jetstream()
            message = await js.get_msg("CRASH", 1)
            assert message.data == b"payload"
            # The dedupe window survives the crash too.
            assert (await js.publish("crash.event", b"payload", headers={"Nats-Msg-Id": "m-1"})).duplicate
        finally:
            await nc.close()


async def test_postgres_keeps_committed_rows_across_kill_9(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path) as server:
        connection = await asyncpg.connect(server.url)
        await connection.execute("create table events (id text primary key)")
        await connection.execute("insert into events values ('committed')")
        await connection.close()

        assert server.process.pid is not None
        backends = descendants(server.process.pid)
        assert backends, "postgres runs its workers as child processes"
        server.kill()
        # They setsid() out of the postmaster's group, yet must die with it.
        assert not any(pid_alive(pid) for pid in backends)
        server.start()

        connection = await asyncpg.connect(server.url)
        try:
            assert await connection.fetchval("select id from events") == "committed"
        finally:
            await connection.close()


async def test_temporal_keeps_workflows_across_kill_9(tmp_path: Path) -> None:
    workflow_id = f"crash-{uuid.uuid4()}"
    with TemporalDevServer(tmp_path) as server:
        client = await Client.connect(server.target)
        # No worker is needed: the execution is recorded as soon as the start is acknowledged.
        await client.start_workflow("NoWorkerNeeded", id=workflow_id, task_queue=f"tq-{uuid.uuid4()}")

        server.kill()
        server.start()

        client = await Client.connect(server.target)
        handle = client.get_workflow_handle(workflow_id)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        await handle.terminate("test over")
