"""Request dependencies: the hub, the token's user, the addressed repository, pagination."""

from __future__ import annotations

from typing import Annotated, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query, Request, Response

from paid_github_emulator import app_tokens
from paid_github_emulator.errors import bad_credentials, forbidden
from paid_github_emulator.hub import Hub
from paid_github_emulator.state import Permission, Repo, User


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() in ("token", "bearer") and token.strip() else None


def current_user(request: Request, hub: HubDep) -> User:
    """The token's user; an installation token acts as its App's bot, within the token's scope."""
    token = bearer_token(request)
    user = hub.store.user_for_token(token) if token else None
    if user is None and token:
        holder = app_tokens.holder(hub, token)
        if holder is not None:
            request.state.installation_token = holder.token
            user = holder.user
    if user is None:
        raise bad_credentials()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def rate_key(hub: Hub, request: Request) -> str:
    """Whose counter a request moves: its token's, or its address's when anonymous."""
    token = bearer_token(request)
    if token and (hub.store.user_for_token(token) or app_tokens.holder(hub, token)):
        return token
    return f"anonymous:{request.client.host if request.client else 'unknown'}"


def addressed_repo(owner: str, repo: str, request: Request, hub: HubDep, user: CurrentUser) -> Repo:
    found = hub.repo(owner, repo, user)
    token = getattr(request.state, "installation_token", None)
    if token is not None:
        prefix = f"/repos/{owner}/{repo}"
        rest = request.url.path.split(prefix, 1)[-1] if prefix in request.url.path else ""
        app_tokens.enforce(hub, token, found, [s for s in rest.split("/") if s], request.method)
    return found


RepoDep = Annotated[Repo, Depends(addressed_repo)]


def require(repo: Repo, user: User, needed: Permission) -> None:
    if not repo.can(user.login, needed):
        by = "integration" if user.type == "Bot" else "personal access token"
        raise forbidden(f"Resource not accessible by {by}")


T = TypeVar("T")


class Page:
    """per_page/page query parameters and GitHub's Link header for the slice returned."""

    def __init__(
        self,
        request: Request,
        response: Response,
        per_page: Annotated[int, Query(ge=1)] = 30,
        page: Annotated[int, Query(ge=1)] = 1,
    ) -> None:
        self.request = request
        self.response = response
        self.per_page = min(per_page, 100)
        self.page = page

    def slice(self, items: list[T]) -> list[T]:
        last = max((len(items) + self.per_page - 1) // self.per_page, 1)
        links = []
        if self.page < last:
            links += [(self.page + 1, "next"), (last, "last")]
        if self.page > 1:
            links += [(1, "first"), (self.page - 1, "prev")]
        if links:
            self.response.headers["Link"] = ", ".join(f'<{self._url(n)}>; rel="{rel}"' for n, rel in links)
        start = (self.page - 1) * self.per_page
        return items[start : start + self.per_page]

    def _url(self, page: int) -> str:
        params = dict(self.request.query_params) | {"per_page": str(self.per_page), "page": str(page)}
        return f"{str(self.request.url).split('?', 1)[0]}?{urlencode(params)}"


PageDep = Annotated[Page, Depends()]
