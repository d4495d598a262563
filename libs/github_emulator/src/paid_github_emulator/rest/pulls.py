"""Pull requests."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel

from paid_github_emulator import issue_ops, pull_ops, shapes_git
from paid_github_emulator.git_history import GitHistory
from paid_github_emulator.rest.deps import CurrentUser, HubDep, PageDep, RepoDep, require
from paid_github_emulator.shapes import Json

router = APIRouter(prefix="/repos/{owner}/{repo}/pulls")


class PullCreate(BaseModel):
    title: str
    head: str
    base: str
    body: str | None = None
    draft: bool = False
    maintainer_can_modify: bool = False


class PullUpdate(BaseModel):
    title: str | None = None
    body: str | None = None
    state: Literal["open", "closed"] | None = None
    base: str | None = None


class MergeBody(BaseModel):
    commit_title: str | None = None
    commit_message: str | None = None
    sha: str | None = None
    merge_method: Literal["merge", "squash", "rebase"] = "merge"


@router.get("")
def list_pulls(
    hub: HubDep,
    repo: RepoDep,
    page: PageDep,
    state: Literal["open", "closed", "all"] = "open",
    head: str | None = None,
    base: str | None = None,
    direction: Literal["asc", "desc"] = "desc",
) -> list[Json]:
    with hub.store.lock:
        found = pull_ops.list_pulls(hub, repo, state=state, head=head, base=base, direction=direction)
        chosen = page.slice(found)
        for item in chosen:
            hub.refresh_pull(repo, item)
        return [hub.pull_json(repo, item, full=False) for item in chosen]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_pull(body: PullCreate, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    item = pull_ops.create_pull(
        hub, repo, user, title=body.title, head=body.head, base=body.base, body=body.body, draft=body.draft
    )
    with hub.store.lock:
        return hub.pull_json(repo, item)


@router.get("/{number}")
def get_pull(number: int, hub: HubDep, repo: RepoDep) -> Json:
    with hub.store.lock:
        item = hub.pull(repo, number)
        hub.refresh_pull(repo, item)
        return hub.pull_json(repo, item)


@router.get("/{number}/commits")
def list_pull_commits(number: int, hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    with hub.store.lock:
        pull = hub.pull(repo, number).pull
        assert pull is not None
        commits = GitHistory(hub.git, repo.owner, repo.name).commits_between(pull.base_sha, pull.head_sha)
        return [shapes_git.commit(hub.urls, repo, item, hub.store.users) for item in page.slice(commits)]


@router.get("/{number}/files")
def list_pull_files(number: int, hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    with hub.store.lock:
        item = hub.pull(repo, number)
        hub.refresh_pull(repo, item)
        pull = item.pull
        assert pull is not None
        files = GitHistory(hub.git, repo.owner, repo.name).changed_files(pull.base_sha, pull.head_sha)
        return [shapes_git.changed_file(hub.urls, repo, pull.head_sha, f) for f in page.slice(files)]


@router.patch("/{number}")
def update_pull(number: int, body: PullUpdate, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    with hub.store.lock:
        if hub.pull(repo, number).user.lower() != user.login.lower():
            require(repo, user, "write")
    item = pull_ops.update_pull(
        hub,
        repo,
        user,
        number,
        title=body.title,
        body=body.body if "body" in body.model_fields_set else issue_ops.UNSET,
        state=body.state,
        base=body.base,
    )
    with hub.store.lock:
        hub.refresh_pull(repo, item)
        return hub.pull_json(repo, item)


@router.put("/{number}/merge")
def merge_pull(
    number: int, hub: HubDep, repo: RepoDep, user: CurrentUser, body: MergeBody | None = None
) -> Json:
    require(repo, user, "write")
    body = body or MergeBody()
    item = pull_ops.merge_pull(
        hub,
        repo,
        user,
        number,
        method=body.merge_method,
        commit_title=body.commit_title,
        commit_message=body.commit_message,
        sha=body.sha,
    )
    assert item.pull is not None
    return {"sha": item.pull.merge_commit_sha, "merged": True, "message": "Pull Request successfully merged"}
