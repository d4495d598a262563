"""Runs waiting to start: executions of the agent workflow that Temporal holds but whose run has not
begun (no `paid.run.started` yet): waiting for an executor worker to take them, or in their first steps.
Temporal's visibility is the source (the gateway's projections learn of a run only when it starts)."""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlmodel import col, select
from temporalio.client import Client
from temporalio.service import RPCError

from paid_contracts.workflow_ids import EXECUTION_WORKFLOW, parse_execution_workflow_id
from paid_gateway.auth.deps import Viewer
from paid_gateway.deps import SessionDep, TemporalDep
from paid_gateway.projections.models import RunRow

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/queue", tags=["runs"])
MAX_LISTED = 500
WAITING_NOTE = (
    "Runs Temporal holds that have not started: waiting for an executor worker, or in their first steps. "
    "Position is the order in which they were requested."
)


class QueuedRun(BaseModel):
    position: int = Field(description="1 for the run requested first")
    workflow_id: str
    repo: str
    issue_number: int
    attempt: int
    requested_at: datetime


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
    waiting = sorted((e for e in running if e.id not in started), key=lambda e: e.start_time)
    runs: list[QueuedRun] = []
    for execution in waiting:
        parsed = parse_execution_workflow_id(execution.id)
        if parsed is None:
            continue
        repository, number, attempt = parsed
        if not viewer.sees(repository):  # a token scoped to projects sees only their queued runs
            continue
        runs.append(
            QueuedRun(
                position=len(runs) + 1,
                workflow_id=execution.id,
                repo=repository,
                issue_number=number,
                attempt=attempt,
                requested_at=execution.start_time,
            )
        )
    return QueuedRuns(runs=runs)
