"""The executor's data access: keyword-only functions over its own tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_executor.models import Run


async def record_run_started(
    session: AsyncSession,
    *,
    run_id: str,
    workflow_id: str,
    repo: str,
    issue: int,
    agent: str,
    prompt_version: str,
    started_at: datetime,
) -> bool:
    """Adds the run once; a retried activity changes nothing. Returns whether a row was added."""
    statement = (
        insert(Run)
        .values(
            run_id=run_id,
            workflow_id=workflow_id,
            repo=repo,
            issue=issue,
            agent=agent,
            prompt_version=prompt_version,
            status="running",
            started_at=started_at,
            updated_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["run_id"])
    )
    result = await session.exec(statement)
    await session.commit()
    return bool(result.rowcount)


async def update_run(session: AsyncSession, *, run_id: str, **changes: Any) -> None:
    statement = update(Run).where(Run.run_id == run_id).values(**changes, updated_at=datetime.now(UTC))  # type: ignore[arg-type]
    await session.exec(statement)
    await session.commit()


async def get_run(session: AsyncSession, *, run_id: str) -> Run | None:
    return await session.get(Run, run_id)
