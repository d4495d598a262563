"""Branches, refs, commits and writing a file through the contents API."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from paid_github_emulator import push_events
from paid_github_emulator.errors import ApiError, not_found, validation_failed
from paid_github_emulator.git_history import GitHistory
from paid_github_emulator.rest.deps import CurrentUser, HubDep, PageDep, RepoDep, require
from paid_github_emulator.shapes import Json
from paid_github_emulator.shapes_git import branch, commit, git_commit, ref, short_branch
from paid_github_emulator.state import Repo

router = APIRouter(prefix="/repos/{owner}/{repo}")


class RefCreate(BaseModel):
    ref: str
    sha: str


class RefUpdate(BaseModel):
    sha: str
    force: bool = False


class ContentWrite(BaseModel):
    message: str
    content: str
    branch: str | None = None
    sha: str | None = None


def history(repo: Repo, hub: HubDep) -> GitHistory:
    return GitHistory(hub.git, repo.owner, repo.name)


def existing_ref(git: GitHistory, full: str) -> str:
    sha = git.refs().get(full)
    if sha is None:
        raise ApiError(422, "Reference does not exist")
    return sha


@router.get("/branches")
def list_branches(hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    heads = sorted(
        (name, sha) for name, sha in history(repo, hub).refs().items() if name.startswith("refs/heads/")
    )
    chosen = page.slice(heads)
    return [short_branch(hub.urls, repo, name.removeprefix("refs/heads/"), sha) for name, sha in chosen]


@router.get("/branches/{name:path}")
def get_branch(name: str, hub: HubDep, repo: RepoDep) -> Json:
    git = history(repo, hub)
    sha = git.resolve(f"refs/heads/{name}")
    if sha is None:
        raise ApiError(404, "Branch not found")
    with hub.store.lock:
        return branch(hub.urls, repo, name, git.commit(sha), hub.store.users)


@router.get("/commits/{sha}")
def get_commit(sha: str, hub: HubDep, repo: RepoDep) -> Json:
    git = history(repo, hub)
    found = git.resolve(sha)
    if found is None:
        raise ApiError(422, f"No commit found for SHA: {sha}")
    with hub.store.lock:
        return commit(hub.urls, repo, git.commit(found), hub.store.users)


@router.get("/git/commits/{sha}")
def get_git_commit(sha: str, hub: HubDep, repo: RepoDep) -> Json:
    git = history(repo, hub)
    found = git.resolve(sha)
    if found is None or found != sha:
        raise not_found()
    return git_commit(hub.urls, repo, git.commit(found))


@router.get("/git/ref/{name:path}")
def get_ref(name: str, hub: HubDep, repo: RepoDep) -> Json:
    sha = history(repo, hub).refs().get(f"refs/{name}")
    if sha is None:
        raise not_found()
    return ref(hub.urls, repo, f"refs/{name}", sha)


@router.get("/git/matching-refs/{prefix:path}")
def matching_refs(prefix: str, hub: HubDep, repo: RepoDep) -> list[Json]:
    refs = history(repo, hub).refs()
    return [ref(hub.urls, repo, n, sha) for n, sha in sorted(refs.items()) if n.startswith(f"refs/{prefix}")]


@router.post("/git/refs", status_code=status.HTTP_201_CREATED)
def create_ref(body: RefCreate, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    require(repo, user, "write")
    if not body.ref.startswith("refs/") or body.ref.count("/") < 2:
        raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
    git = history(repo, hub)
    with hub.store.lock:
        if body.ref in git.refs():
            raise ApiError(422, "Reference already exists")
        if git.resolve(body.sha) != body.sha:
            raise ApiError(422, "Object does not exist")
        git.set_ref(body.ref, body.sha)
        push_events.ref_moved(hub, repo, user, body.ref, before=None, after=body.sha)
        return ref(hub.urls, repo, body.ref, body.sha)


@router.patch("/git/refs/{name:path}")
def update_ref(name: str, body: RefUpdate, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    require(repo, user, "write")
    git, full = history(repo, hub), f"refs/{name}"
    with hub.store.lock:
        before = existing_ref(git, full)
        if git.resolve(body.sha) != body.sha:
            raise ApiError(422, "Object does not exist")
        if not body.force and not git.is_ancestor(before, body.sha):
            raise ApiError(422, "Update is not a fast forward")
        git.set_ref(full, body.sha, old=before)
        push_events.ref_moved(hub, repo, user, full, before=before, after=body.sha, forced=body.force)
        return ref(hub.urls, repo, full, body.sha)


@router.delete("/git/refs/{name:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_ref(name: str, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Response:
    require(repo, user, "write")
    git, full = history(repo, hub), f"refs/{name}"
    with hub.store.lock:
        before = existing_ref(git, full)
        git.delete_ref(full)
        push_events.ref_moved(hub, repo, user, full, before=before, after=None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/contents/{path:path}")
def put_content(
    path: str, body: ContentWrite, hub: HubDep, repo: RepoDep, user: CurrentUser, response: Response
) -> Json:
    require(repo, user, "write")
    try:
        content = base64.b64decode(body.content, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise validation_failed("Contents", "content", "invalid", "content is not valid Base64") from exc
    name = body.branch or repo.default_branch
    git = history(repo, hub)
    with hub.store.lock:
        before = git.resolve(f"refs/heads/{name}")
        if before is None:
            raise ApiError(404, f"Branch {name} not found")
        existing = next(
            (e[2] for e in hub.git.tree(repo.owner, repo.name, before) or [] if e[3] == path), None
        )
        if existing is not None and body.sha is None:
            raise ApiError(422, '"sha" wasn\'t supplied.')
        if existing is not None and body.sha != existing:
            raise ApiError(409, f"{path} does not match {body.sha}")
        after = git.put_file(name, path, content, body.message, user.login)
        push_events.ref_moved(hub, repo, user, f"refs/heads/{name}", before=before, after=after)
        blob = next(e for e in hub.git.tree(repo.owner, repo.name, after) or [] if e[3] == path)
        response.status_code = status.HTTP_200_OK if existing else status.HTTP_201_CREATED
        api, web = hub.urls.repo_api(repo), hub.urls.repo_web(repo)
        links = {
            "self": f"{api}/contents/{path}?ref={name}",
            "git": f"{api}/git/blobs/{blob[2]}",
            "html": f"{web}/blob/{name}/{path}",
        }
        return {
            "content": {
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "sha": blob[2],
                "size": len(content),
                "url": links["self"],
                "html_url": links["html"],
                "git_url": links["git"],
                "download_url": f"{web}/raw/{name}/{path}",
                "type": "file",
                "_links": links,
            },
            "commit": git_commit(hub.urls, repo, git.commit(after)),
        }
