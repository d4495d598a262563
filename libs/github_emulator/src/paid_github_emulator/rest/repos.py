"""Repositories, forks, users, collaborator permissions and hooks."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from paid_github_emulator import forks, repo_ops, shapes
from paid_github_emulator.errors import forbidden
from paid_github_emulator.rest.deps import CurrentUser, HubDep, PageDep, RepoDep, require
from paid_github_emulator.shapes import Json

router = APIRouter()


@router.get("/user")
def get_authenticated_user(request: Request, hub: HubDep, user: CurrentUser) -> Json:
    # GitHub answers this only for a user's token: an installation token acts as no user here, and
    # an App learns its bot's login (`<slug>[bot]`) from `GET /app` with its JWT instead.
    if getattr(request.state, "installation_token", None) is not None:
        raise forbidden("Resource not accessible by integration")
    with hub.store.lock:
        owned = sum(1 for repo in hub.store.repos.values() if repo.owner.lower() == user.login.lower())
        return shapes.private_user(hub.urls, user, owned)


@router.get("/users/{login}")
def get_user(login: str, hub: HubDep, _: CurrentUser) -> Json:
    user = hub.user(login)
    owned = sum(1 for repo in hub.store.repos.values() if repo.owner.lower() == user.login.lower())
    public = shapes.private_user(hub.urls, user, owned)
    return {key: value for key, value in public.items() if key not in shapes.PRIVATE_ONLY_FIELDS}


@router.get("/repos/{owner}/{repo}")
def get_repository(hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    with hub.store.lock:
        permission = repo.permission_of(user.login)
        flags = shapes.collaborator_permission(hub.urls, repo, user)["user"]["permissions"]
        return hub.repo_json(repo) | {"permissions": flags, "role_name": permission}


@router.get("/repos/{owner}/{repo}/collaborators/{username}/permission")
def get_collaborator_permission(username: str, hub: HubDep, repo: RepoDep) -> Json:
    with hub.store.lock:
        return shapes.collaborator_permission(hub.urls, repo, hub.user(username))


class HookConfig(BaseModel):
    url: str
    content_type: Literal["json", "form"] = "json"
    secret: str | None = None
    insecure_ssl: str | int | None = None


class HookCreate(BaseModel):
    name: str = "web"
    config: HookConfig
    events: list[str] = Field(default_factory=lambda: ["push"])
    active: bool = True


@router.post("/repos/{owner}/{repo}/hooks", status_code=status.HTTP_201_CREATED)
def create_hook(body: HookCreate, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    require(repo, user, "admin")
    hook = repo_ops.create_hook(
        hub,
        repo,
        user,
        url=body.config.url,
        secret=body.config.secret,
        content_type=body.config.content_type,
        events=body.events,
        active=body.active,
    )
    with hub.store.lock:
        return hub.hook_json(repo, hook)


@router.get("/repos/{owner}/{repo}/hooks")
def list_hooks(hub: HubDep, repo: RepoDep, user: CurrentUser, page: PageDep) -> list[Json]:
    require(repo, user, "admin")
    with hub.store.lock:
        return page.slice([hub.hook_json(repo, hook) for hook in repo.hooks.values()])


class ForkCreate(BaseModel):
    organization: str | None = None
    name: str | None = None
    default_branch_only: bool = False


@router.post("/repos/{owner}/{repo}/forks", status_code=status.HTTP_202_ACCEPTED)
def create_fork(hub: HubDep, repo: RepoDep, user: CurrentUser, body: ForkCreate | None = None) -> Json:
    """The caller's fork of the repository (or the organization's, which must exist as an account)."""
    wanted = body or ForkCreate()
    with hub.store.lock:
        owner = hub.user(wanted.organization) if wanted.organization else user
        fork = forks.fork_repository(hub, repo, owner, name=wanted.name)
        return hub.repo_json(fork)
