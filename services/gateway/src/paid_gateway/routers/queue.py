"""Runs waiting to start: executions of the agent workflow that Temporal holds but whose run has not
begun (no `paid.run.started` yet). Temporal's visibility is the source (the gateway's projections learn of
a run only when it starts). Each is asked (the workflow's status query) whether it is `queued`: held by
the executor's concurrency limits or a spent budget, with its place in the fair order and the reason;
any other is `waiting` for an executor worker, or in its first steps."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlmodel import col, select
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError

from paid_contracts.workflow_ids import (
    EXECUTION_STATUS_QUERY,
    EXECUTION_WORKFLOW,
    parse_execution_workflow_id,
)
from paid_gateway.auth.deps import Viewer
from paid_gateway.deps import SessionDep, TemporalDep
from paid_gateway.projections.models import RunRow

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/queue", tags=["runs"])
MAX_LISTED = 500
QUERY_TIMEOUT = timedelta(seconds=2)  # a run no worker answers for is waiting for one
QUERIES_AT_ONCE = 16
WAITING_NOTE = (
    "Runs Temporal holds that have not started. Queued: held by the concurrency limits (in total, per "
    "project, per model provider) or a spent budget; they start in a fair order, round robin between "
    "projects. Waiting: for an executor worker, or in their first steps. Position: queued runs in the "
    "order they will start, then the others in the order they were requested."
)


class QueuedRun(BaseModel):
    position: int = Field(description="1 for the run that starts first")
    workflow_id: str
    repo: str
    issue_number: int
    attempt: int
    requested_at: datetime
    status: Literal["queued", "waiting"] = Field(
        default="waiting", description="queued: held by a limit or budget; waiting: for a worker"
    )
    reason: str | None = Field(default=None, description="why a queued run waits")


class QueuedRuns(BaseModel):
    runs: list[QueuedRun]
    note: str = WAITING_NOTE


@router.get("")
async def queued_runs(viewer: Viewer, session: SessionDep, temporal: TemporalDep) -> QueuedRuns:
    """Runs requested and not yet started, oldest first."""
    query = f"WorkflowType = '{EXECUTION_WORKFLOW}' AND ExecutionStatus = 'Running'"
    try:
        client: Client = await temporal()
        running = [execution async for execution in client.list_workflows(query, limit=MAX_LISTED)]
    except (RPCError, OSError, TimeoutError, RuntimeError) as error:
        log.warning("cannot list the running executions: %s", error)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Temporal is unavailable; try again"
        ) from None
    ids = [execution.id for execution in running]
    started = set(
        (await session.exec(select(RunRow.workflow_id).where(col(RunRow.workflow_id).in_(ids)))).all()
    )
    waiting = [
        (execution, parsed)
        for execution in running
        if execution.id not in started
        and (parsed := parse_execution_workflow_id(execution.id)) is not None
        and viewer.sees(parsed[0])  # a token scoped to projects sees only their queued runs
    ]
    limit = asyncio.Semaphore(QUERIES_AT_ONCE)
    states = await asyncio.gather(*(_queue_state(client, execution, limit) for execution, _ in waiting))
    rows = sorted(
        zip(waiting, states, strict=True),
        key=lambda row: (row[1][0] is None, row[1][0] or 0, row[0][0].start_time),
    )
    runs: list[QueuedRun] = []
    for (execution, (repository, number, attempt)), (place, reason) in rows:
        runs.append(
            QueuedRun(
                position=len(runs) + 1,
                workflow_id=execution.id,
                repo=repository,
                issue_number=number,
                attempt=attempt,
                requested_at=execution.start_time,
                status="waiting" if place is None else "queued",
                reason=reason,
            )
        )
    return QueuedRuns(runs=runs)


async def _queue_state(
    client: Client, execution: WorkflowExecution, limit: asyncio.Semaphore
) -> tuple[int | None, str | None]:
    """The run's place in the executor's queue and why it waits; (None, None) when it is not queued or
    does not answer in time (no worker has it: it waits for one)."""
    async with limit:
        try:
            status: Any = await client.get_workflow_handle(execution.id).query(
                EXECUTION_STATUS_QUERY, rpc_timeout=QUERY_TIMEOUT
            )
        except (
            RPCError,
            WorkflowQueryFailedError,
            WorkflowQueryRejectedError,
            OSError,
            TimeoutError,
            RuntimeError,
        ) as error:
            log.debug("no status from %s: %s", execution.id, error)
            return None, None
    if not isinstance(status, dict) or status.get("step") != "queued":
        return None, None
    place, reason = status.get("queue_position"), status.get("queue_reason")
    return (
        place if isinstance(place, int) and place > 0 else None,
        reason if isinstance(reason, str) else None,
    )
