"""What the REST API lists (issue events, comments, pull requests), read as the events the webhook path
publishes for the same changes, with the same ids. `None` where the change does not concern Paid."""

from __future__ import annotations

from typing import Any

from paid_contracts import (
    IssueCommented,
    LabelMapping,
    PullRequestClosed,
    RepoRef,
    TriggerSource,
    WorkRequested,
)
from paid_github_events.rules import Ignored, Origin, issue_commented, pull_request_closed, work_requested

Json = dict[str, Any]


def _account(user: Json | None) -> tuple[str, str | None]:
    user = user or {}
    kind = user.get("type")
    return str(user.get("login", "")), kind if isinstance(kind, str) else None


def _origin(producer: str, source_id: str) -> Origin:
    return Origin(producer, TriggerSource.POLL, source_id)


def labeled_issue_event(
    repo: RepoRef, event: Json, labels: LabelMapping, *, producer: str
) -> WorkRequested | None:
    """A `labeled` entry of the Issue Events API, on an issue (a pull request's labels request nothing)."""
    issue = event.get("issue") or {}
    if event.get("event") != "labeled" or "pull_request" in issue:
        return None
    actor, actor_type = _account(event.get("actor"))
    found = work_requested(
        repo,
        number=int(issue["number"]),
        label=str((event.get("label") or {}).get("name", "")),
        actor=actor,
        actor_type=actor_type,
        labeled_at=str(event["created_at"]),
        labels=labels,
        origin=_origin(producer, f"issue-event:{event['id']}"),
    )
    return None if isinstance(found, Ignored) else found


def closed_pull_number(event: Json) -> int | None:
    """The pull request a `closed` issue event closed, whose details the caller fetches."""
    issue = event.get("issue") or {}
    if event.get("event") == "closed" and "pull_request" in issue:
        return int(issue["number"])
    return None


def closed_pull(repo: RepoRef, event: Json, pull: Json, *, producer: str) -> PullRequestClosed | None:
    closer, _ = _account(event.get("actor"))
    found = pull_request_closed(
        repo,
        number=int(pull["number"]),
        closed_at=pull.get("closed_at"),
        merged=bool(pull.get("merged") or pull.get("merged_at")),
        head_ref=str(pull["head"]["ref"]),
        closed_by=closer or None,
        body=pull.get("body"),
        origin=_origin(producer, f"issue-event:{event['id']}"),
    )
    return None if isinstance(found, Ignored) else found


def listed_comment(repo: RepoRef, comment: Json, *, producer: str) -> IssueCommented | None:
    """An entry of `/issues/comments`; its issue number is the last part of `issue_url`."""
    author, author_type = _account(comment.get("user"))
    found = issue_commented(
        repo,
        number=int(str(comment["issue_url"]).rstrip("/").rsplit("/", 1)[1]),
        comment_id=int(comment["id"]),
        author=author,
        author_type=author_type,
        author_association=str(comment.get("author_association") or "NONE"),
        body=comment.get("body"),
        origin=_origin(producer, f"comment:{comment['id']}"),
    )
    return None if isinstance(found, Ignored) else found
