"""The Issue Events API and the repository-wide comment list: what a poller reads instead of webhooks.

Registered before the issues router, whose `/{number}` would otherwise capture `/events` and `/comments`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from paid_github_emulator.errors import not_found
from paid_github_emulator.rest.deps import HubDep, PageDep, RepoDep
from paid_github_emulator.shapes import Json
from paid_github_emulator.shapes_reviews import review

router = APIRouter(prefix="/repos/{owner}/{repo}/issues")


@router.get("/events")
def list_repository_issue_events(hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    """Newest first, each with its issue, as GitHub lists them."""
    with hub.store.lock:
        events = sorted(repo.issue_events, key=lambda event: event.id, reverse=True)
        return page.slice([hub.issue_event_json(repo, event, with_issue=True) for event in events])


@router.get("/events/{event_id}")
def get_issue_event(event_id: int, hub: HubDep, repo: RepoDep) -> Json:
    with hub.store.lock:
        for event in repo.issue_events:
            if event.id == event_id:
                return hub.issue_event_json(repo, event, with_issue=True)
    raise not_found()


@router.get("/comments")
def list_repository_comments(
    hub: HubDep,
    repo: RepoDep,
    page: PageDep,
    since: Annotated[datetime | None, Query()] = None,
    sort: Literal["created", "updated"] = "created",
    direction: Literal["asc", "desc"] = "asc",
) -> list[Json]:
    """Every issue and pull-request comment; `since` keeps those updated at or after it (as GitHub does)."""
    with hub.store.lock:
        found = [c for c in repo.comments.values() if since is None or c.updated_at >= since]
        found.sort(
            key=lambda c: ((c.updated_at if sort == "updated" else c.created_at), c.id),
            reverse=direction == "desc",
        )
        return page.slice([hub.comment_json(repo, c) for c in found])


@router.get("/{number}/events")
def list_issue_events(number: int, hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    """Oldest first, without the issue (it is the one addressed)."""
    with hub.store.lock:
        hub.issue(repo, number)
        events = [event for event in repo.issue_events if event.issue_number == number]
        return page.slice([hub.issue_event_json(repo, event, with_issue=False) for event in events])


@router.get("/{number}/timeline")
def list_timeline(number: int, hub: HubDep, repo: RepoDep, page: PageDep) -> list[Json]:
    """Issue events, comments (`commented`) and, on pull requests, submitted reviews (`reviewed`),
    oldest first."""
    with hub.store.lock:
        item = hub.issue(repo, number)
        entries: list[tuple[datetime, int, Json]] = [
            (e.created_at, e.id, hub.issue_event_json(repo, e, with_issue=False))
            for e in repo.issue_events
            if e.issue_number == number
        ]
        for comment_id in item.comment_ids:
            comment = repo.comments[comment_id]
            shape = hub.comment_json(repo, comment) | {
                "event": "commented",
                "actor": hub.user_json(hub.user(comment.user)),
            }
            entries.append((comment.created_at, comment.id, shape))
        for found in repo.reviews.values():
            if found.pull_number == number and found.submitted_at is not None:
                shape = review(hub.urls, repo, found, hub.store.users) | {"event": "reviewed"}
                entries.append((found.submitted_at, found.id, shape))
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        return page.slice([shape for _, _, shape in entries])
