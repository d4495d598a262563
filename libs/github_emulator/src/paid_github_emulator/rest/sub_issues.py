"""Sub-issues: an issue's children, in order (GitHub's sub-issue API, addressed by issue id)."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from paid_github_emulator.errors import ApiError, not_found
from paid_github_emulator.rest.deps import CurrentUser, HubDep, PageDep, RepoDep, require
from paid_github_emulator.shapes import Json

router = APIRouter(prefix="/repos/{owner}/{repo}/issues/{number}")


class SubIssueRemove(BaseModel):
    sub_issue_id: int


class SubIssueAdd(BaseModel):
    sub_issue_id: int
    replace_parent: bool = False


@router.get("/sub_issues")
def list_sub_issues(number: int, hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    with hub.store.lock:
        parent = repo.issues.get(number)
        if parent is None:
            raise not_found()
        return page.slice([hub.issue_json(repo, repo.issues[n]) for n in parent.sub_issues])


@router.post("/sub_issues", status_code=status.HTTP_201_CREATED)
def add_sub_issue(number: int, body: SubIssueAdd, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    require(repo, user, "triage")
    with hub.store.lock:
        parent = repo.issues.get(number)
        child = next((item for item in repo.issues.values() if item.id == body.sub_issue_id), None)
        if parent is None or child is None:
            raise not_found()
        if child.number == number:
            raise ApiError(422, "An issue cannot be its own sub-issue")
        if child.parent is not None and not body.replace_parent:
            raise ApiError(422, "Sub issue may only have one parent")
        if child.parent is not None:
            repo.issues[child.parent].sub_issues.remove(child.number)
        child.parent = number
        parent.sub_issues.append(child.number)
        return hub.issue_json(repo, child)


@router.delete("/sub_issue")
def remove_sub_issue(
    number: int, body: SubIssueRemove, hub: HubDep, repo: RepoDep, user: CurrentUser
) -> Json:
    """Detach a sub-issue; GitHub answers with the sub-issue, which no longer has a parent."""
    require(repo, user, "triage")
    with hub.store.lock:
        parent = repo.issues.get(number)
        child = next((item for item in repo.issues.values() if item.id == body.sub_issue_id), None)
        if parent is None or child is None or child.parent != number:
            raise not_found()
        parent.sub_issues.remove(child.number)
        child.parent = None
        return hub.issue_json(repo, child)


@router.get("/parent")
def get_parent(number: int, hub: HubDep, repo: RepoDep) -> Json:
    with hub.store.lock:
        child = repo.issues.get(number)
        if child is None or child.parent is None:
            raise not_found()
        return hub.issue_json(repo, repo.issues[child.parent])
