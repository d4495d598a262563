"""Pull request reviews and review comments."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel

from paid_github_emulator import review_ops
from paid_github_emulator.errors import not_found, validation_failed
from paid_github_emulator.rest.deps import CurrentUser, HubDep, PageDep, RepoDep, require
from paid_github_emulator.shapes import Json
from paid_github_emulator.shapes_reviews import review, review_comment

router = APIRouter(prefix="/repos/{owner}/{repo}/pulls")

Event = Literal["APPROVE", "REQUEST_CHANGES", "COMMENT"]
Side = Literal["LEFT", "RIGHT"]


class DraftIn(BaseModel):
    path: str
    body: str
    line: int | None = None
    side: Side = "RIGHT"


class ReviewCreate(BaseModel):
    commit_id: str | None = None
    body: str = ""
    event: Event | None = None
    comments: list[DraftIn] = []


class ReviewSubmit(BaseModel):
    event: Event
    body: str = ""


class Dismissal(BaseModel):
    message: str


class CommentCreate(BaseModel):
    body: str
    commit_id: str | None = None
    path: str | None = None
    line: int | None = None
    side: Side = "RIGHT"
    in_reply_to: int | None = None


class Reply(BaseModel):
    body: str


def _draft(path: str | None, line: int | None, body: str, side: str) -> review_ops.DraftComment:
    if path is None or line is None:
        # Positions (the legacy way to address a diff line) are not emulated; GitHub wants line too.
        raise validation_failed("PullRequestReviewComment", "line", "missing_field")
    return review_ops.DraftComment(path, line, body, side)


@router.get("/{number}/reviews")
def list_reviews(number: int, hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    with hub.store.lock:
        hub.pull(repo, number)
        found = [r for r in repo.reviews.values() if r.pull_number == number and r.state != "PENDING"]
        return [review(hub.urls, repo, r, hub.store.users) for r in page.slice(found)]


@router.post("/{number}/reviews")
def create_review(number: int, body: ReviewCreate, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    drafts = [_draft(c.path, c.line, c.body, c.side) for c in body.comments]
    created = review_ops.create_review(
        hub, repo, user, number, event=body.event, body=body.body, comments=drafts, commit_id=body.commit_id
    )
    with hub.store.lock:
        return review(hub.urls, repo, created, hub.store.users)


@router.get("/{number}/reviews/{review_id}")
def get_review(number: int, review_id: int, hub: HubDep, repo: RepoDep) -> Json:
    with hub.store.lock:
        found = repo.reviews.get(review_id)
        if found is None or found.pull_number != number:
            raise not_found()
        return review(hub.urls, repo, found, hub.store.users)


@router.post("/{number}/reviews/{review_id}/events")
def submit_review(
    number: int, review_id: int, body: ReviewSubmit, hub: HubDep, repo: RepoDep, user: CurrentUser
) -> Json:
    found = review_ops.submit_review(hub, repo, user, number, review_id, event=body.event, body=body.body)
    with hub.store.lock:
        return review(hub.urls, repo, found, hub.store.users)


@router.put("/{number}/reviews/{review_id}/dismissals")
def dismiss_review(
    number: int, review_id: int, body: Dismissal, hub: HubDep, repo: RepoDep, user: CurrentUser
) -> Json:
    require(repo, user, "write")
    found = review_ops.dismiss_review(hub, repo, user, number, review_id, message=body.message)
    with hub.store.lock:
        return review(hub.urls, repo, found, hub.store.users)


@router.get("/{number}/reviews/{review_id}/comments")
def list_review_comments(
    number: int, review_id: int, hub: HubDep, repo: RepoDep, page: PageDep
) -> list[Json]:
    with hub.store.lock:
        found = [
            c for c in repo.review_comments.values() if c.pull_number == number and c.review_id == review_id
        ]
        return [review_comment(hub.urls, repo, c, hub.store.users) for c in page.slice(found)]


@router.get("/{number}/comments")
def list_comments(number: int, hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    with hub.store.lock:
        hub.pull(repo, number)
        pending = {r.id for r in repo.reviews.values() if r.state == "PENDING"}
        found = [
            c for c in repo.review_comments.values() if c.pull_number == number and c.review_id not in pending
        ]
        return [review_comment(hub.urls, repo, c, hub.store.users) for c in page.slice(found)]


@router.post("/{number}/comments", status_code=status.HTTP_201_CREATED)
def create_comment(number: int, body: CommentCreate, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    draft = None if body.in_reply_to is not None else _draft(body.path, body.line, body.body, body.side)
    created = review_ops.create_comment(
        hub, repo, user, number, draft=draft, body=body.body, in_reply_to=body.in_reply_to
    )
    with hub.store.lock:
        return review_comment(hub.urls, repo, created, hub.store.users)


@router.post("/{number}/comments/{comment_id}/replies", status_code=status.HTTP_201_CREATED)
def reply(number: int, comment_id: int, body: Reply, hub: HubDep, repo: RepoDep, user: CurrentUser) -> Json:
    created = review_ops.create_comment(
        hub, repo, user, number, draft=None, body=body.body, in_reply_to=comment_id
    )
    with hub.store.lock:
        return review_comment(hub.urls, repo, created, hub.store.users)
