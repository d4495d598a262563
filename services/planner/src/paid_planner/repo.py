"""The planner's data access: keyword-only functions over its own tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_planner.models import Plan


async def save_plan_status(
    session: AsyncSession, *, plan_id: str, repo: str, issue: int, status: str
) -> None:
    """Creates the plan or moves it to `status`; repeating a call changes nothing more."""
    now = datetime.now(UTC)
    statement = insert(Plan).values(
        plan_id=plan_id, repo=repo, issue=issue, status=status, created_at=now, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["plan_id"],
        set_={"status": statement.excluded.status, "updated_at": statement.excluded.updated_at},
    )
    await session.exec(statement)
    await session.commit()


async def get_plan(session: AsyncSession, *, plan_id: str) -> Plan | None:
    return await session.get(Plan, plan_id)
