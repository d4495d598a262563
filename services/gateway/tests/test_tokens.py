"""API tokens: created by an admin, stored only as a digest, usable at once, revocable at once."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway.auth.models import ApiToken
from paid_gateway.auth.tokens import digest

ADMIN = {"Authorization": "Bearer bootstrap-admin-token-for-the-gateway-tests"}


async def test_a_created_token_works_is_stored_hashed_and_can_be_revoked(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    created = await api.post("/api/tokens", json={"name": "ci bot", "role": "operator"}, headers=ADMIN)
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("paid_")
    assert len(token) > 40
    mine = {"Authorization": f"Bearer {token}"}
    me = (await api.get("/api/me", headers=mine)).json()
    assert me == {"name": "ci bot", "role": "operator", "projects": None}  # None: every project

    async with sessions() as session:
        rows = (await session.exec(select(ApiToken).where(ApiToken.name == "ci bot"))).all()
    assert [row.token_sha256 for row in rows] == [digest(token)]
    assert all(token not in str(row.model_dump()) for row in rows)

    revoked = await api.delete(f"/api/tokens/{created.json()['token_id']}", headers=ADMIN)
    assert revoked.status_code == 200
    refused = await api.get("/api/me", headers=mine)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "unknown or revoked API token"}


async def test_a_bad_role_is_refused_clearly(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/tokens", json={"name": "x", "role": "root"}, headers=ADMIN)
    assert response.status_code == 422
    assert "body.role" in response.json()["detail"]
