"""The daily cost roll-up, the executor's periodic job over its own data: the spend of runs per project
and UTC day (`executor.daily_costs`), from the runs table. A Temporal Schedule (`executor-cost-rollup`,
created or updated at each start, paid_runtime.schedules) fires the workflow once a day, shortly after
midnight UTC; each firing rolls up the last `days` days again, so runs that finished late or a firing
that was missed are counted, and rolling a day up twice gives the same rows."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():  # not re-imported in the sandbox of each workflow run
    from pydantic import BaseModel, ConfigDict, Field
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession
    from temporalio.client import Client, ScheduleIntervalSpec, ScheduleSpec

    from paid_runtime.schedules import Ensured, ensure_schedule

SCHEDULE_ID = "executor-cost-rollup"
WORKFLOW_ID = "executor-cost-rollup"
FIRES_AFTER_MIDNIGHT = timedelta(minutes=15)

ROLL_UP = text(
    """
    INSERT INTO executor.daily_costs
        (day, project, runs, input_tokens, output_tokens, cost_usd, rolled_up_at)
    SELECT CAST(started_at AT TIME ZONE 'UTC' AS date), lower(repo), count(*),
           coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), coalesce(sum(cost_usd), 0),
           now()
    FROM executor.runs
    WHERE started_at >= CAST(:first AS date) AND started_at < CAST(:after AS date)
    GROUP BY 1, 2
    ON CONFLICT (day, project) DO UPDATE SET
        runs = EXCLUDED.runs, input_tokens = EXCLUDED.input_tokens,
        output_tokens = EXCLUDED.output_tokens, cost_usd = EXCLUDED.cost_usd,
        rolled_up_at = EXCLUDED.rolled_up_at
    """
)


class CostRollupInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    days: int = Field(default=2, ge=1, le=62, description="the days rolled up, ending with the current one")


class RollupDays(BaseModel):
    model_config = ConfigDict(frozen=True)

    first: date
    last: date


class CostRollupActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn
    async def roll_up_costs(self, days: RollupDays) -> int:
        """Rows written: one per project and day with runs."""
        async with self.sessions() as session:
            connection = await session.connection()
            result = await connection.execute(
                ROLL_UP, {"first": days.first, "after": days.last + timedelta(days=1)}
            )
            await session.commit()
        return result.rowcount


@workflow.defn(name="DailyCostRollup")
class DailyCostRollupWorkflow:
    @workflow.run
    async def run(self, request: CostRollupInput) -> int:
        today = workflow.now().date()  # the UTC day of the firing
        days = RollupDays(first=today - timedelta(days=request.days - 1), last=today)
        return await workflow.execute_activity_method(
            CostRollupActivities.roll_up_costs,
            days,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(minutes=1)),
        )


def schedule_spec(every: timedelta) -> ScheduleSpec:
    return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every, offset=FIRES_AFTER_MIDNIGHT % every)])


async def ensure_cost_rollup(
    client: Client, *, task_queue: str, every: timedelta = timedelta(days=1), days: int = 2
) -> Ensured:
    return await ensure_schedule(
        client,
        SCHEDULE_ID,
        workflow="DailyCostRollup",
        arg=CostRollupInput(days=days),
        workflow_id=WORKFLOW_ID,
        task_queue=task_queue,
        spec=schedule_spec(every),
    )
