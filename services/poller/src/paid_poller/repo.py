"""The poller's data access: keyword-only functions over its own tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_poller.models import PollState


async def get_poll_state(session: AsyncSession, *, repo: str) -> PollState | None:
    return await session.get(PollState, repo)


async def save_poll_state(
    session: AsyncSession,
    *,
    repo: str,
    etag: str | None,
    seen: dict[str, str],
    polled_at: datetime,
) -> None:
    values = {"repo": repo, "etag": etag, "seen": seen, "last_polled_at": polled_at}
    statement = insert(PollState).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["repo"], set_={key: statement.excluded[key] for key in values if key != "repo"}
    )
    await session.exec(statement)
    await session.commit()
