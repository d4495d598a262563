"""GitHub App endpoints: as the App (JWT), as an installation (its token), and the manifest conversion."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel

from paid_github_emulator import app_manifest, app_ops, app_tokens
from paid_github_emulator.app_jwt import verify_app_jwt
from paid_github_emulator.apps import App
from paid_github_emulator.errors import ApiError, bad_credentials, not_found
from paid_github_emulator.rest.deps import HubDep, PageDep, bearer_token
from paid_github_emulator.shapes import Json

router = APIRouter()


def authenticated_app(request: Request, hub: HubDep) -> App:
    token = bearer_token(request)
    if token is None:
        raise ApiError(401, "A JSON web token could not be decoded")
    # Against wall time, not the advanceable clock: a client's JWT is made from its own clock, which
    # tests cannot move; installation tokens and manifest codes do expire on the emulator's clock.
    return verify_app_jwt(hub.apps, token, int(time.time()))


AppDep = Annotated[App, Depends(authenticated_app)]


def installation_token(request: Request, hub: HubDep) -> app_tokens.TokenHolder:
    token = bearer_token(request)
    found = app_tokens.holder(hub, token) if token else None
    if found is None:
        raise bad_credentials()
    return found


TokenDep = Annotated[app_tokens.TokenHolder, Depends(installation_token)]


class AccessTokenRequest(BaseModel):
    repositories: list[str] | None = None
    repository_ids: list[int] | None = None
    permissions: dict[str, str] | None = None


@router.get("/app")
def get_authenticated_app(hub: HubDep, app: AppDep) -> Json:
    return app_ops.app_json(hub, app)


@router.get("/app/installations")
def list_installations(hub: HubDep, app: AppDep, page: PageDep) -> list[Json]:
    with hub.apps.lock:
        found = [item for item in hub.apps.installations.values() if item.app_id == app.id]
    return [app_ops.installation_json(hub, item) for item in page.slice(sorted(found, key=lambda i: i.id))]


@router.get("/app/installations/{installation_id}")
def get_installation(installation_id: int, hub: HubDep, app: AppDep) -> Json:
    return app_ops.installation_json(hub, app_ops.get_installation(hub, installation_id, app))


@router.get("/repos/{owner}/{repo}/installation")
def get_repo_installation(owner: str, repo: str, hub: HubDep, app: AppDep) -> Json:
    found = hub.store.find_repo(owner, repo)
    installation = hub.apps.installation_for_repo(found.id, found.owner, app.id) if found else None
    if installation is None:
        raise not_found()
    return app_ops.installation_json(hub, installation)


@router.post("/app/installations/{installation_id}/access_tokens", status_code=status.HTTP_201_CREATED)
def create_access_token(
    installation_id: int, hub: HubDep, app: AppDep, body: AccessTokenRequest | None = None
) -> Json:
    body = body or AccessTokenRequest()
    return app_tokens.mint(
        hub,
        app,
        installation_id,
        repositories=body.repositories,
        repository_ids=body.repository_ids,
        permissions=body.permissions,
    )


@router.get("/installation/repositories")
def list_installation_repositories(hub: HubDep, holder: TokenDep, page: PageDep) -> Json:
    with hub.store.lock, hub.apps.lock:
        installation = app_ops.get_installation(hub, holder.token.installation_id)
        repos = [
            r
            for r in app_ops.installation_repos(hub, installation)
            if app_tokens.reaches(hub, holder.token, r)
        ]
        return {
            "total_count": len(repos),
            "repository_selection": installation.repository_selection,
            "repositories": [hub.repo_json(repo) for repo in page.slice(repos)],
        }


@router.delete("/installation/token", status_code=status.HTTP_204_NO_CONTENT)
def revoke_installation_token(hub: HubDep, holder: TokenDep) -> Response:
    app_tokens.revoke(hub, holder.token.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/app-manifests/{code}/conversions", status_code=status.HTTP_201_CREATED)
def convert_manifest(code: str, hub: HubDep) -> Json:
    return app_manifest.convert_manifest(hub, code)
