"""The gateway's retention: the job workflow on the time-skipping server (rows older than the setting go,
in batches; a row younger than it never does, nor the output of a run still going; the cutoff follows
the workflow's clock), and its Temporal Schedule on the dev server (which the time-skipping server
cannot run): created once, unchanged when asked again, updated in place, and fired once with
`trigger()`."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from paid_devstack import wait_until_async
from paid_devstack.temporal import TemporalDevServer
from paid_devstack.test_servers import time_skipping_environment
from paid_gateway.config import GatewaySettings
from paid_gateway.retention import RULES, gateway_retention
from paid_runtime.database import session_factory
from paid_runtime.retention import (
    RetentionInput,
    RetentionRule,
    RetentionWorkflow,
    ensure_retention,
    retention_worker,
    schedule_id,
    serve_retention,
)
from paid_runtime.temporal_access import TemporalAccess

DAYS = 7


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await time_skipping_environment() as environment:
        yield environment


class Rows:
    """Rows of one test, each named by what it stands for, dated relative to `now`."""

    def __init__(self, engine: AsyncEngine, now: datetime) -> None:
        self.engine, self.now, self.tag = engine, now, uuid.uuid4().hex[:8]

    def id(self, name: str) -> str:
        return f"{self.tag}-{name}"

    async def run(self, name: str, *, finished: bool) -> None:
        await self._insert(
            "INSERT INTO gateway.runs (run_id, workflow_id, repo, issue_number, status, started_at, "
            "finished_at, updated_at) VALUES (:id, :id, 'acme/kept', 1, :status, :at, :finished, :at)",
            id=self.id(name),
            status="succeeded" if finished else "running",
            at=self.now - timedelta(days=30),
            finished=self.now - timedelta(days=29) if finished else None,
        )

    async def output(self, run: str, age: timedelta, sequence: int) -> None:
        await self._insert(
            "INSERT INTO gateway.run_output (run_id, attempt, sequence, position, stream, step, text, "
            "occurred_at) VALUES (:run, 1, :sequence, 0, 'stdout', 'agent', 'a line', :at)",
            run=self.id(run),
            sequence=sequence,
            at=self.now - age,
        )
        await self._insert(
            "INSERT INTO gateway.run_events (event_id, run_id, type, occurred_at) "
            "VALUES (:id, :run, 'x', :at)",
            id=self.id(f"{run}-{sequence}"),
            run=self.id(run),
            at=self.now - age,
        )

    async def delivery(self, name: str, age: timedelta) -> None:
        await self._insert(
            "INSERT INTO gateway.webhook_deliveries (delivery_id, event, received_at, published_event_id) "
            "VALUES (:id, 'issues', :at, :id)",
            id=self.id(name),
            at=self.now - age,
        )

    async def left(self) -> dict[str, list[str]]:
        queries = {
            "output": "SELECT run_id || '-' || sequence FROM gateway.run_output WHERE run_id LIKE :tag",
            "events": "SELECT event_id FROM gateway.run_events WHERE run_id LIKE :tag",
            "deliveries": "SELECT delivery_id FROM gateway.webhook_deliveries WHERE delivery_id LIKE :tag",
        }
        async with self.engine.connect() as connection:
            return {
                kind: sorted(
                    str(row[0]).removeprefix(f"{self.tag}-")
                    for row in await connection.execute(text(query), {"tag": f"{self.tag}-%"})
                )
                for kind, query in queries.items()
            }

    async def _insert(self, statement: str, **values: object) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(text(statement), values)


async def test_retention_deletes_what_is_older_than_the_setting_and_nothing_younger(
    env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    rows = Rows(engine, await env.get_current_time())
    await rows.run("done", finished=True)
    await rows.run("going", finished=False)
    await rows.output("done", timedelta(days=DAYS, hours=1), 1)  # past the setting: goes
    await rows.output("done", timedelta(days=DAYS, hours=2), 2)  # past it too (a second batch)
    await rows.output("done", timedelta(days=DAYS) - timedelta(minutes=5), 3)  # just younger: stays
    await rows.output("done", timedelta(days=2), 4)
    await rows.output("going", timedelta(days=DAYS * 3), 1)  # a run still going keeps its output
    await rows.delivery("old", timedelta(days=DAYS + 1))
    await rows.delivery("young", timedelta(days=DAYS - 1))
    queue = f"retention-{uuid.uuid4().hex[:8]}"

    async def retain() -> dict[str, int]:
        return await env.client.execute_workflow(
            RetentionWorkflow.run,
            RetentionInput(days=DAYS, batch=1),
            id=f"retention-{uuid.uuid4()}",
            task_queue=queue,
        )

    async with retention_worker(env.client, session_factory(engine), RULES, queue):
        deleted = await retain()
        first = await rows.left()
        await env.sleep(timedelta(days=DAYS - 1))  # skipped: the 2-day-old rows are now past the setting
        await retain()
        later = await rows.left()

    # What each table lost, from the attempt that completed (an earlier one may have done part of it).
    assert set(deleted) == {rule.table for rule in RULES}
    assert first == {
        "output": ["done-3", "done-4", "going-1"],
        "events": ["done-3", "done-4", "going-1"],
        "deliveries": ["young"],
    }
    assert later == {"output": ["going-1"], "events": ["going-1"], "deliveries": []}


def test_a_rule_names_plain_sql_identifiers_only() -> None:
    with pytest.raises(ValueError, match="not a plain SQL name"):
        RetentionRule("gateway.run_output; DROP TABLE gateway.runs", "occurred_at")
    with pytest.raises(ValueError, match="not a plain SQL name"):
        RetentionRule("gateway.run_output", "")


@pytest.fixture(scope="module")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(tmp_path_factory.mktemp("temporal"), headless=True) as server:
        yield server


@pytest.fixture
async def dev_client(temporal: TemporalDevServer) -> AsyncIterator[Client]:
    client = await Client.connect(temporal.target, data_converter=pydantic_data_converter)
    yield client
    await client.get_schedule_handle(schedule_id("gateway")).delete()


# Heavy: it starts Temporal's dev server; the job's workflow is in the default run above.
@pytest.mark.heavy
async def test_the_schedule_is_made_once_updated_in_place_and_fires_the_retention(
    dev_client: Client, engine: AsyncEngine
) -> None:
    rows = Rows(engine, datetime.now().astimezone())
    await rows.delivery("old", timedelta(days=DAYS + 1))
    await rows.delivery("young", timedelta(days=1))
    queue = f"retention-{uuid.uuid4().hex[:8]}"

    async def ensure(days: int) -> str:
        return await ensure_retention(dev_client, service="gateway", task_queue=queue, days=days)

    outcomes = (await ensure(30), await ensure(30), await ensure(DAYS), await ensure(DAYS))
    handle = dev_client.get_schedule_handle(schedule_id("gateway"))
    description = await handle.describe()

    assert outcomes == ("created", "unchanged", "updated", "unchanged")
    (interval,) = description.schedule.spec.intervals
    assert interval.every == timedelta(days=1)
    assert description.info.num_actions == 0  # a day's schedule has not fired by itself in this test

    async with retention_worker(dev_client, session_factory(engine), RULES, queue):
        await handle.trigger()

        async def fired() -> bool:
            return bool((await handle.describe()).info.recent_actions)

        await wait_until_async(fired, timeout=30, what="the schedule's firing")
        (action,) = (await handle.describe()).info.recent_actions
        started = action.action.workflow_id  # type: ignore[attr-defined]
        await dev_client.get_workflow_handle(started).result()

    assert (await rows.left())["deliveries"] == ["young"]  # the updated setting (DAYS) was the one applied


# Heavy: the dev server again. What the gateway runs at start: the schedule kept and its worker served.
@pytest.mark.heavy
async def test_the_gateways_retention_task_makes_its_schedule_serves_its_firing_and_stops_when_cancelled(
    dev_client: Client, temporal: TemporalDevServer, engine: AsyncEngine
) -> None:
    rows = Rows(engine, datetime.now().astimezone())
    await rows.delivery("old", timedelta(days=DAYS + 1))
    await rows.delivery("young", timedelta(days=DAYS - 1))
    settings = GatewaySettings(retention_days=DAYS, retention_task_queue=f"retention-{uuid.uuid4().hex[:8]}")
    access = TemporalAccess(target=temporal.target, namespace="default", tls=False, api_key=None)
    task = asyncio.create_task(serve_retention(access, gateway_retention(settings), session_factory(engine)))
    handle = dev_client.get_schedule_handle(schedule_id("gateway"))

    async def scheduled() -> bool:
        try:
            await handle.describe()
        except RPCError:
            return False
        return True

    try:
        await wait_until_async(scheduled, timeout=60, what="the retention schedule")
        await handle.trigger()
        await wait_until_async(
            lambda: rows_left(rows, ["young"]), timeout=60, what="the firing served by the gateway's worker"
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert task.cancelled()


async def rows_left(rows: Rows, deliveries: list[str]) -> bool:
    return (await rows.left())["deliveries"] == deliveries
