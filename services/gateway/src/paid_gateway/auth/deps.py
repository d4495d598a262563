"""Who is calling: `Authorization: Bearer <token>` -> a Principal with a role, or an honest refusal.

401 when no token or an unknown/revoked one is presented (with `WWW-Authenticate: Bearer`);
403 when the token is valid but its role is below what the route needs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from paid_gateway.auth import repo
from paid_gateway.auth.tokens import Role, same_token
from paid_gateway.deps import SessionDep, SettingsDep

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="an API token (`paid token create`)")
CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    projects: frozenset[str] | None = None  # lower-cased owner/name; None: every project

    def sees(self, project: str) -> bool:
        """Whether the token reaches this project (owner/name, any case)."""
        return self.projects is None or project.lower() in self.projects


async def current_principal(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing API token: send `Authorization: Bearer <token>`", CHALLENGE
        )
    token = credentials.credentials
    if settings.admin_token and same_token(token, settings.admin_token):
        return Principal(name="bootstrap-admin", role=Role.ADMIN)
    try:
        row = await repo.find_active(session, token=token)
    except Exception:
        log.exception("cannot read the API tokens")
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database unavailable") from None
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API token", CHALLENGE)
    projects = None if row.projects is None else frozenset(row.projects)
    return Principal(name=row.name, role=Role(row.role), projects=projects)


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.role.allows(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {role.value} role; the token {principal.name!r} has {principal.role.value}",
            )
        return principal

    check.required_role = role  # type: ignore[attr-defined]  # read by the authorization test matrix
    return check


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
