"""API tokens (admin only) and `whoami` (any valid token)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import AfterValidator, BaseModel, Field

from paid_gateway.auth import repo
from paid_gateway.auth.deps import Admin, Viewer
from paid_gateway.auth.models import ApiToken
from paid_gateway.auth.tokens import Role
from paid_gateway.deps import SessionDep

router = APIRouter(prefix="/api", tags=["auth"])


def _owner_and_name(project: str) -> str:
    if any(part in (".", "..") for part in project.split("/")):
        raise ValueError("a project is owner/name: neither may be . or ..")
    return project


ProjectName = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", max_length=200),
    AfterValidator(_owner_and_name),
]


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w .@-]+$")
    role: Role
    projects: list[ProjectName] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="owner/name of each project the token may reach (evolution's routes); omitted: all",
    )


class TokenPublic(BaseModel):
    token_id: str
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None
    projects: list[str] | None = None

    @classmethod
    def of(cls, row: ApiToken) -> TokenPublic:
        return cls.model_validate(row, from_attributes=True)


class TokenCreated(TokenPublic):
    token: str = Field(description="shown once: only its SHA-256 is stored")


class WhoAmI(BaseModel):
    name: str
    role: Role
    projects: list[str] | None = None


@router.get("/me")
async def whoami(principal: Viewer) -> WhoAmI:
    """The caller's token name and role."""
    projects = None if principal.projects is None else sorted(principal.projects)
    return WhoAmI(name=principal.name, role=principal.role, projects=projects)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(request: TokenCreate, _: Admin, session: SessionDep) -> TokenCreated:
    """Creates a token; the response is the only time the token itself is shown."""
    row, token = await repo.create_token(
        session, name=request.name, role=request.role, projects=request.projects
    )
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
