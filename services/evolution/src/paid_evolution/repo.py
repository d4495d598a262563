"""Evolution's data access: keyword-only functions over its own tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import RunFinished
from paid_evolution.models import RunRecord


async def record_run(session: AsyncSession, *, event: RunFinished, trace_id: str | None) -> bool:
    """Stores the run once; a redelivered event changes nothing. Returns whether a row was added."""
    values = {
        "run_id": event.run_id,
        "workflow_id": event.workflow_id,
        "repo": event.issue.repo.full_name,
        "issue": event.issue.number,
        "agent": event.agent,
        "prompt_version": event.prompt_version,
        "outcome": event.outcome.value,
        "started_at": datetime.fromisoformat(event.started_at),
        "duration_seconds": event.duration_seconds,
        "iterations": event.iterations,
        "pull_request_url": event.pull_request_url,
        "input_tokens": event.input_tokens,
        "output_tokens": event.output_tokens,
        "cost_usd": event.cost_usd,
        "trace_id": trace_id,
        "recorded_at": datetime.now(UTC),
    }
    statement = insert(RunRecord).values(**values).on_conflict_do_nothing(index_elements=["run_id"])
    result = await session.exec(statement)
    await session.commit()
    return bool(result.rowcount)


async def list_runs(session: AsyncSession, *, repo: str | None = None) -> list[RunRecord]:
    query = select(RunRecord).order_by(RunRecord.recorded_at)  # type: ignore[arg-type]
    if repo is not None:
        query = query.where(RunRecord.repo == repo)
    return list((await session.exec(query)).all())
