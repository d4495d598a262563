"""The poller's data access: keyword-only functions over its own tables."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_poller.models import PolledProject, PollState


async def get_poll_state(session: AsyncSession, *, repo: str) -> PollState | None:
    return await session.get(PollState, repo.lower())


async def save_poll_state(session: AsyncSession, *, state: PollState) -> None:
    values = state.model_dump()
    statement = insert(PollState).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["repo"], set_={key: statement.excluded[key] for key in values if key != "repo"}
    )
    await session.exec(statement)
    await session.commit()


async def get_project(session: AsyncSession, *, repo: str) -> PolledProject | None:
    return await session.get(PolledProject, repo.lower())


async def save_project(session: AsyncSession, *, project: PolledProject) -> bool:
    """Stores the project unless a newer version is stored already; returns whether it was stored."""
    values = project.model_dump()
    statement = insert(PolledProject).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["repo"],
        set_={key: statement.excluded[key] for key in values if key not in ("repo", "registered_at")},
        where=PolledProject.__table__.c.version < statement.excluded.version,  # type: ignore[attr-defined]
    )
    result = await session.exec(statement)
    await session.commit()
    return bool(result.rowcount)
