"""Issues and the labels on them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, status
from pydantic import BaseModel

from paid_github_emulator import issue_ops
from paid_github_emulator.rest.deps import CurrentUser, HubDep, PageDep, RepoDep, require
from paid_github_emulator.shapes import Json

router = APIRouter(prefix="/repos/{owner}/{repo}/issues")


class IssueCreate(BaseModel):
    title: str | int
    body: str | None = None
    labels: list[str | dict[str, Any]] | None = None
    assignees: list[str] | None = None


class IssueUpdate(BaseModel):
    title: str | int | None = None
    body: str | None = None
    state: Literal["open", "closed"] | None = None
    state_reason: Literal["completed", "not_planned", "duplicate", "reopened"] | None = None
    labels: list[str | dict[str, Any]] | None = None


def label_names(labels: list[str | dict[str, Any]]) -> list[str]:
    return [item if isinstance(item, str) else str(item["name"]) for item in labels]


@router.get("")
def list_issues(
    hub: HubDep,
    repo: RepoDep,
    page: PageDep,
    state: Literal["open", "closed", "all"] = "open",
    labels: str | None = None,
    since: datetime | None = None,
    sort: Literal["created", "updated", "comments"] = "created",
    direction: Literal["asc", "desc"] = "desc",
) -> list[Json]:
    wanted = [name.strip() for name in labels.split(",") if name.strip()] if labels else None
    with hub.store.lock:
        found = issue_ops.list_issues(
            repo, state=state, labels=wanted, since=since, sort=sort, direction=direction
        )
        for item in found:
            if item.pull:
                hub.refresh_pull(repo, item)
        return page.slice([hub.issue_json(repo, item) for item in found])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_issue(body: IssueCreate, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    # Like GitHub, labels from users without triage access are dropped silently.
    labels = label_names(body.labels or []) if repo.can(user.login, "triage") else []
    item = issue_ops.create_issue(hub, repo, user, title=str(body.title), body=body.body, labels=labels)
    with hub.store.lock:
        return hub.issue_json(repo, item)


@router.get("/{number}")
def get_issue(number: int, hub: HubDep, repo: RepoDep) -> Json:
    with hub.store.lock:
        return hub.issue_json(repo, hub.issue(repo, number))


@router.patch("/{number}")
def update_issue(number: int, body: IssueUpdate, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    with hub.store.lock:
        if hub.issue(repo, number).user.lower() != user.login.lower():
            require(repo, user, "triage")
    given = body.model_fields_set
    item = issue_ops.update_issue(
        hub,
        repo,
        user,
        number,
        title=str(body.title) if body.title is not None else None,
        body=body.body if "body" in given else issue_ops.UNSET,
        state=body.state,
        state_reason=body.state_reason,
        labels=label_names(body.labels) if body.labels is not None else None,
    )
    with hub.store.lock:
        return hub.issue_json(repo, item)


@router.get("/{number}/labels")
def list_issue_labels(number: int, hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    with hub.store.lock:
        item = hub.issue(repo, number)
        return page.slice([hub.label_json(repo, repo.labels[name.lower()]) for name in item.labels])


LabelsBody = Annotated[
    list[str | dict[str, Any]] | dict[str, list[str | dict[str, Any]]],
    Body(description="a list of names or {labels: [...]}"),
]


@router.post("/{number}/labels")
def add_labels(number: int, body: LabelsBody, hub: HubDep, repo: RepoDep, user: CurrentUser) -> list[Json]:
    require(repo, user, "triage")
    names = label_names(list(body)) if isinstance(body, list) else label_names(body.get("labels", []))
    labels = issue_ops.add_labels(hub, repo, user, number, names)
    with hub.store.lock:
        return [hub.label_json(repo, found) for found in labels]


@router.delete("/{number}/labels/{name}")
def remove_label(number: int, name: str, hub: HubDep, repo: RepoDep, user: CurrentUser) -> list[Json]:
    require(repo, user, "triage")
    labels = issue_ops.remove_label(hub, repo, user, number, name)
    with hub.store.lock:
        return [hub.label_json(repo, found) for found in labels]


@router.get("/{number}/comments")
def list_comments(
    number: int, hub: HubDep, repo: RepoDep, page: PageDep, since: Annotated[datetime | None, Query()] = None
) -> list[Json]:
    with hub.store.lock:
        item = hub.issue(repo, number)
        found = [repo.comments[cid] for cid in item.comment_ids]
        found = [c for c in found if since is None or c.updated_at >= since]
        return page.slice([hub.comment_json(repo, c) for c in found])


class CommentBody(BaseModel):
    body: str


@router.post("/{number}/comments", status_code=status.HTTP_201_CREATED)
def create_comment(number: int, body: CommentBody, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    created = issue_ops.create_comment(hub, repo, user, number, body.body)
    with hub.store.lock:
        return hub.comment_json(repo, created)
