"""The daily cost roll-up: the job workflow on the time-skipping test server (rows per project and UTC
day, the same again when rolled up twice, the window following the workflow's clock), and its Temporal
Schedule on the dev server (which the time-skipping server cannot run): created once, unchanged when
asked again, updated in place when its definition changes, and fired once with `trigger()`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_devstack import wait_until_async
from paid_devstack.temporal import TemporalDevServer
from paid_executor.cost_rollup import (
    SCHEDULE_ID,
    CostRollupActivities,
    CostRollupInput,
    DailyCostRollupWorkflow,
    ensure_cost_rollup,
)
from paid_executor.models import Run
from paid_runtime.database import session_factory

Row = tuple[str, int, int, int, float]


async def add_run(engine: AsyncEngine, repo: str, started: datetime, tokens: int, cost: float) -> None:
    async with session_factory(engine)() as session:
        session.add(
            Run(
                run_id=str(uuid.uuid4()),
                workflow_id=f"exec:{repo}#1:1",
                repo=repo,
                issue=1,
                agent="demo",
                prompt_version="coding@1",
                status="succeeded",
                input_tokens=tokens,
                output_tokens=tokens // 10,
                cost_usd=cost,
                started_at=started,
                updated_at=started,
            )
        )
        await session.commit()


async def rolled_up(engine: AsyncEngine, prefix: str) -> list[Row]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT CAST(day AS text), runs, input_tokens, output_tokens, cost_usd "
                "FROM executor.daily_costs WHERE project LIKE :prefix ORDER BY day, project"
            ),
            {"prefix": f"{prefix.lower()}%"},
        )
        return [(str(r[0]), int(r[1]), int(r[2]), int(r[3]), round(float(r[4]), 6)) for r in rows]


def rollup_worker(client: Client, engine: AsyncEngine, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[DailyCostRollupWorkflow],
        activities=[CostRollupActivities(session_factory(engine)).roll_up_costs],
    )


async def test_the_rollup_counts_each_projects_day_once_and_follows_the_workflows_clock(
    env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    repo = f"acme/Rollup-{uuid.uuid4().hex[:8]}"
    now = await env.get_current_time()
    today, yesterday = now.date(), now.date() - timedelta(days=1)
    await add_run(engine, repo, now, 1000, 0.5)
    await add_run(engine, repo, now, 3000, 1.25)
    await add_run(engine, repo, now - timedelta(days=1), 500, 0.1)
    await add_run(engine, repo, now - timedelta(days=5), 9000, 9.0)  # outside the two days rolled up
    queue = f"rollup-{uuid.uuid4().hex[:8]}"

    async def roll_up() -> int:
        return await env.client.execute_workflow(
            DailyCostRollupWorkflow.run,
            CostRollupInput(days=2),
            id=f"rollup-{uuid.uuid4()}",
            task_queue=queue,
        )

    async with rollup_worker(env.client, engine, queue):
        await roll_up()
        first = await rolled_up(engine, repo)
        await roll_up()
        again = await rolled_up(engine, repo)
        await env.sleep(timedelta(days=3))  # skipped, not waited: the next firing's today is 3 days on
        later = await env.get_current_time()
        await add_run(engine, repo, later, 70, 0.07)
        await roll_up()
        moved = await rolled_up(engine, repo)

    assert first == [
        (str(yesterday), 1, 500, 50, 0.1),
        (str(today), 2, 4000, 400, 1.75),
    ]
    assert again == first  # rolled up twice: replaced, not added
    assert moved == [*first, (str(later.date()), 1, 70, 7, 0.07)]


@pytest.fixture(scope="module")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(tmp_path_factory.mktemp("temporal"), headless=True) as server:
        yield server


@pytest.fixture
async def dev_client(temporal: TemporalDevServer) -> AsyncIterator[Client]:
    client = await Client.connect(temporal.target, data_converter=pydantic_data_converter)
    yield client
    await client.get_schedule_handle(SCHEDULE_ID).delete()


# Heavy: it starts Temporal's dev server; the job's workflow is in the default run above.
@pytest.mark.heavy
async def test_the_schedule_is_made_once_updated_in_place_and_fires_the_rollup(
    dev_client: Client, engine: AsyncEngine
) -> None:
    repo = f"acme/Scheduled-{uuid.uuid4().hex[:8]}"
    await add_run(engine, repo, datetime.now().astimezone(), 200, 0.2)
    queue = f"rollup-{uuid.uuid4().hex[:8]}"

    created = await ensure_cost_rollup(dev_client, task_queue=queue)
    unchanged = await ensure_cost_rollup(dev_client, task_queue=queue)
    updated = await ensure_cost_rollup(dev_client, task_queue=queue, every=timedelta(hours=6))
    updated_again = await ensure_cost_rollup(dev_client, task_queue=queue, every=timedelta(hours=6))
    handle = dev_client.get_schedule_handle(SCHEDULE_ID)
    description = await handle.describe()

    assert (created, unchanged, updated, updated_again) == ("created", "unchanged", "updated", "unchanged")
    (interval,) = description.schedule.spec.intervals
    assert interval.every == timedelta(hours=6)
    assert description.info.num_actions == 0  # a day's schedule has not fired by itself in this test

    async with rollup_worker(dev_client, engine, queue):
        await handle.trigger()

        async def fired() -> bool:
            return bool((await handle.describe()).info.recent_actions)

        await wait_until_async(fired, timeout=30, what="the schedule's firing")
        (action,) = (await handle.describe()).info.recent_actions
        started = action.action.workflow_id  # type: ignore[attr-defined]
        await dev_client.get_workflow_handle(started).result()

    (row,) = await rolled_up(engine, repo)
    assert row[1:] == (1, 200, 20, 0.2)
