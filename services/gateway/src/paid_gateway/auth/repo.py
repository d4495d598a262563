"""API tokens: keyword-only functions over the gateway's `api_tokens` table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway.auth.models import ApiToken
from paid_gateway.auth.tokens import Role, digest, new_token


async def create_token(
    session: AsyncSession, *, name: str, role: Role, projects: Sequence[str] | None = None
) -> tuple[ApiToken, str]:
    """Stores a new token's digest; returns the row and the token itself, which is never stored.
    `projects`: the owner/name of every project the token may reach; None: all of them."""
    token = new_token()
    row = ApiToken(
        token_id=uuid.uuid4().hex[:12],
        name=name,
        role=role.value,
        token_sha256=digest(token),
        created_at=datetime.now(UTC),
        projects=None if projects is None else sorted({project.lower() for project in projects}),
    )
    session.add(row)
    await session.commit()
    return row, token


async def find_active(session: AsyncSession, *, token: str) -> ApiToken | None:
    query = select(ApiToken).where(ApiToken.token_sha256 == digest(token), col(ApiToken.revoked_at).is_(None))
    return (await session.exec(query)).first()


async def list_tokens(session: AsyncSession) -> list[ApiToken]:
    return list((await session.exec(select(ApiToken).order_by(col(ApiToken.created_at)))).all())


async def revoke(session: AsyncSession, *, token_id: str) -> ApiToken | None:
    row = await session.get(ApiToken, token_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.add(row)
        await session.commit()
    return row
