"""What the REST API lists (issue events, comments, pull requests, reviews, check runs), read as the
events the webhook path publishes for the same changes, with the same ids. `None` where the change
does not concern Paid."""

from __future__ import annotations

from typing import Any

from paid_contracts import (
    CheckRunCompleted,
    CheckSuiteCompleted,
    CommitStatusChanged,
    IssueCommented,
    LabelMapping,
    PinnedText,
    PullRequestClosed,
    PullRequestHeadMoved,
    PullRequestReviewed,
    RepoRef,
    TriggerSource,
    WorkRequested,
)
from paid_github_events.pull_requests import (
    check_run_completed,
    check_suite_completed,
    commit_status_changed,
    head_moved,
    pull_request_reviewed,
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
        pinned=_pinned(issue),
    )
    return None if isinstance(found, Ignored) else found


def _pinned(issue: Json) -> PinnedText | None:
    """The issue as the poll saw it. An edit between the label and the poll cannot be told from the
    labeled text (REST keeps no history of a body): that window, one poll interval, is the poll's limit."""
    title = issue.get("title")
    body = issue.get("body")
    if not isinstance(title, str):
        return None
    return PinnedText.of(title, body if isinstance(body, str) else None)


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


def listed_review(repo: RepoRef, number: int, review: Json, *, producer: str) -> PullRequestReviewed | None:
    """An entry of `/pulls/{n}/reviews`; pending and dismissed reviews are not submissions."""
    reviewer, reviewer_type = _account(review.get("user"))
    found = pull_request_reviewed(
        repo,
        number=number,
        review_id=int(review["id"]),
        reviewer=reviewer,
        reviewer_type=reviewer_type,
        state=str(review.get("state", "")),
        body=review.get("body"),
        commit_id=str(review.get("commit_id", "")),
        author_association=str(review.get("author_association") or "NONE"),
        origin=_origin(producer, f"review:{review['id']}"),
    )
    return None if isinstance(found, Ignored) else found


def moved_head(
    repo: RepoRef, pull: Json, previous_head: str | None, *, producer: str
) -> PullRequestHeadMoved | None:
    """A pull request's head, when it differs from the head the caller saw before (a push since)."""
    head = pull["head"]
    if previous_head is None or head["sha"] == previous_head:
        return None
    number = int(pull["number"])
    return head_moved(
        repo,
        number=number,
        head_ref=str(head["ref"]),
        head_sha=str(head["sha"]),
        origin=_origin(producer, f"pull-head:{number}:{head['sha']}"),
    )


def listed_check_run(repo: RepoRef, run: Json, *, producer: str) -> CheckRunCompleted | None:
    """An entry of `/commits/{sha}/check-runs`, once it has completed."""
    if run.get("status") != "completed":
        return None
    found = check_run_completed(
        repo,
        check_run_id=int(run["id"]),
        name=str(run["name"]),
        head_sha=str(run["head_sha"]),
        conclusion=run.get("conclusion"),
        pull_numbers=[int(pull["number"]) for pull in run.get("pull_requests") or []],
        origin=_origin(producer, f"check-run:{run['id']}"),
        app_slug=str((run.get("app") or {}).get("slug") or "") or None,
    )
    return None if isinstance(found, Ignored) else found


def listed_status(repo: RepoRef, status: Json, sha: str, *, producer: str) -> CommitStatusChanged:
    """An entry of `/commits/{sha}/statuses`; its creator is the login that set it."""
    creator, _ = _account(status.get("creator"))
    return commit_status_changed(
        repo,
        status_id=int(status["id"]),
        sha=sha,
        state=str(status["state"]),
        context=str(status.get("context") or "default"),
        description=status.get("description"),
        target_url=status.get("target_url"),
        creator=creator,
        origin=_origin(producer, f"status:{status['id']}"),
    )


def listed_check_suite(repo: RepoRef, suite: Json, *, producer: str) -> CheckSuiteCompleted | None:
    """An entry of `/commits/{sha}/check-suites`, once it has completed."""
    if suite.get("status") != "completed":
        return None
    found = check_suite_completed(
        repo,
        check_suite_id=int(suite["id"]),
        head_sha=str(suite["head_sha"]),
        conclusion=suite.get("conclusion"),
        pull_numbers=[int(pull["number"]) for pull in suite.get("pull_requests") or []],
        app_slug=str((suite.get("app") or {}).get("slug") or "") or None,
        origin=_origin(producer, f"check-suite:{suite['id']}"),
    )
    return None if isinstance(found, Ignored) else found
