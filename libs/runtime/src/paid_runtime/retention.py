"""Retention: a service's periodic deletion of its own rows older than a number of days, as a Temporal
Schedule (`<service>-retention`, created or updated at each start, paid_runtime.schedules) firing the
`Retention` workflow on the service's own task queue, which deletes in batches.

Each service names its rules: a table of its own schema, the timestamp column that dates a row, and a
condition a row must also meet to go (a notifier delivery still pending is not history yet). The rules
are constants in the service's code, never settings or input, so they are written into the SQL. The
cutoff is computed from the workflow's clock at the firing: a row younger than the setting's days is
never deleted, however late the firing or its retries run."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.metadata import version

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():  # not re-imported in the sandbox of each workflow run
    from pydantic import BaseModel, ConfigDict, Field
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession
    from temporalio.client import Client, ScheduleIntervalSpec, ScheduleSpec
    from temporalio.worker import Worker

    from paid_runtime.schedules import Ensured, ensure_schedule
    from paid_runtime.temporal import connect_service_temporal
    from paid_runtime.temporal_access import TemporalAccess

WORKFLOW = "Retention"
RETRY_SECONDS = 60.0
log = logging.getLogger(__name__)
IDENTIFIER = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.")


@dataclass(frozen=True)
class RetentionRule:
    table: str  # schema-qualified: gateway.run_output
    dated_by: str  # a timestamptz column
    also: str = "true"  # SQL over the table's columns: the other condition for a row to go

    def __post_init__(self) -> None:
        for name in (self.table, self.dated_by):
            if not name or not set(name) <= IDENTIFIER:
                raise ValueError(f"not a plain SQL name: {name!r}")

    def deletion(self) -> str:
        # By ctid in batches: one statement never locks or writes more than `batch` rows. The names
        # are checked plain identifiers and `also` is a constant of the service's code, never input.
        return (
            f"DELETE FROM {self.table} WHERE ctid = ANY(ARRAY("  # noqa: S608
            f"SELECT ctid FROM {self.table} WHERE {self.dated_by} < :cutoff AND ({self.also}) "
            f"LIMIT :batch))"
        )


class RetentionInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    days: int = Field(ge=1, description="rows older than this many days go")
    batch: int = Field(default=5000, ge=1, le=100_000, description="rows deleted per statement")


class ExpiredRows(BaseModel):
    model_config = ConfigDict(frozen=True)

    cutoff: datetime  # rows dated before it go
    batch: int


class RetentionActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], rules: list[RetentionRule]) -> None:
        self.sessions = sessions
        self.rules = rules

    @activity.defn(name="delete_expired_rows")
    async def delete_expired_rows(self, expired: ExpiredRows) -> dict[str, int]:
        """Rows deleted per table; each batch is committed, so a retried activity resumes where it was."""
        deleted: dict[str, int] = {}
        for rule in self.rules:
            statement = text(rule.deletion())
            deleted[rule.table] = 0
            while True:
                async with self.sessions() as session:
                    connection = await session.connection()
                    result = await connection.execute(
                        statement, {"cutoff": expired.cutoff, "batch": expired.batch}
                    )
                    await session.commit()
                deleted[rule.table] += result.rowcount
                activity.heartbeat(rule.table, deleted[rule.table])
                if result.rowcount < expired.batch:
                    break
        return deleted


@workflow.defn(name=WORKFLOW)
class RetentionWorkflow:
    @workflow.run
    async def run(self, request: RetentionInput) -> dict[str, int]:
        cutoff = workflow.now() - timedelta(days=request.days)
        return await workflow.execute_activity_method(
            RetentionActivities.delete_expired_rows,
            ExpiredRows(cutoff=cutoff, batch=request.batch),
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(minutes=5)),
        )


def schedule_id(service: str) -> str:
    return f"{service}-retention"


async def ensure_retention(
    client: Client, *, service: str, task_queue: str, days: int, every: timedelta = timedelta(days=1)
) -> Ensured:
    """The service's retention schedule, firing every `every` (the first at its next multiple from the
    epoch), each firing one workflow with a fixed id, so two replicas' firings cannot overlap."""
    return await ensure_schedule(
        client,
        schedule_id(service),
        workflow=WORKFLOW,
        arg=RetentionInput(days=days),
        workflow_id=schedule_id(service),
        task_queue=task_queue,
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
    )


def retention_worker(
    client: Client, sessions: async_sessionmaker[AsyncSession], rules: list[RetentionRule], task_queue: str
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        # Named, not derived: Temporal's default hashes the code of every loaded module, blocking the
        # service's event loop for seconds at each start (7 s here without cached bytecode).
        build_id=f"paid-retention-{version('paid-runtime')}",
        workflows=[RetentionWorkflow],
        activities=[RetentionActivities(sessions, rules).delete_expired_rows],
    )


@dataclass(frozen=True)
class Retention:
    """A service's retention: its rules, the setting's days, how often, and its own task queue."""

    service: str
    rules: list[RetentionRule]
    days: int
    every: timedelta
    task_queue: str


async def serve_retention(
    access: TemporalAccess, retention: Retention, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Keeps the schedule and its worker until cancelled (cancelling the worker shuts it down). It runs
    beside the service's own work: a failure to reach Temporal is logged and tried again, and never
    stops the service (the gateway serves reads and webhooks, the notifier delivers, while it is down)."""
    while True:
        try:
            client = await connect_service_temporal(access, retention.service)
            ensured = await ensure_retention(
                client,
                service=retention.service,
                task_queue=retention.task_queue,
                days=retention.days,
                every=retention.every,
            )
            log.info("the retention schedule (%d days): %s", retention.days, ensured)
            await retention_worker(client, sessions, retention.rules, retention.task_queue).run()
        except Exception as error:  # the service's work matters more; the next attempt may reach it
            log.error("retention: %s; trying again in %.0f s", error, RETRY_SECONDS)
        await asyncio.sleep(RETRY_SECONDS)
