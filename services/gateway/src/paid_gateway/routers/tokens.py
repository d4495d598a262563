"""API tokens (admin only) and `whoami` (any valid token)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field

from paid_gateway.auth import repo
from paid_gateway.auth.deps import Admin, Viewer
from paid_gateway.auth.models import ApiToken
from paid_gateway.auth.tokens import Role
from paid_gateway.deps import SessionDep

router = APIRouter(prefix="/api", tags=["auth"])


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w .@-]+$")
    role: Role


class TokenPublic(BaseModel):
    token_id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> TokenPublic:
        return cls.model_validate(row, from_attributes=True)


class TokenCreated(TokenPublic):
    token: str = Field(description="shown once: only its SHA-256 is stored")


class WhoAmI(BaseModel):
    name: str
    role: Role


@router.get("/me")
async def whoami(principal: Viewer) -> WhoAmI:
    """The caller's token name and role."""
    return WhoAmI(name=principal.name, role=principal.role)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(request: TokenCreate, _: Admin, session: SessionDep) -> TokenCreated:
    """Creates a token; the response is the only time the token itself is shown."""
    row, token = await repo.create_token(session, name=request.name, role=request.role)
    return TokenCreated(**TokenPublic.of(row).model_dump(), token=token)


@router.get("/tokens")
async def list_tokens(_: Admin, session: SessionDep) -> list[TokenPublic]:
    return [TokenPublic.of(row) for row in await repo.list_tokens(session)]


@router.delete("/tokens/{token_id}")
async def revoke_token(
    token_id: Annotated[str, Path(min_length=1, max_length=64)], _: Admin, session: SessionDep
) -> TokenPublic:
    """Revokes a token at once (it answers 401 from then on)."""
    row = await repo.revoke(session, token_id=token_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token {token_id!r}")
    return TokenPublic.of(row)
