"""A verified webhook delivery, read as the event it asks Paid for (or why it is ignored)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from paid_contracts import Event, LabelMapping, PinnedText, RepoRef, TriggerSource
from paid_github_events.payloads import (
    BranchPush,
    CheckRunCompletedPayload,
    CheckSuiteCompletedPayload,
    IssueCommentCreated,
    IssuesLabeled,
    PullRequestClosedPayload,
    PullRequestReviewSubmitted,
    PullRequestSynchronize,
    Repository,
    StatusSet,
)
from paid_github_events.pull_requests import (
    base_branch_pushed,
    check_run_completed,
    check_suite_completed,
    commit_status_changed,
    head_moved,
    pull_request_reviewed,
)
from paid_github_events.review_requests import labeled_pull_delivery
from paid_github_events.rules import (
    Ignored,
    Origin,
    issue_commented,
    pull_request_closed,
    work_requested,
)


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as GitHub identifies it (`X-GitHub-Event`, `X-GitHub-Delivery`)."""

    event: str
    delivery_id: str
    payload: dict[str, Any]

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @property
    def repo(self) -> str | None:
        repository = self.payload.get("repository")
        full_name = repository.get("full_name") if isinstance(repository, dict) else None
        return full_name if isinstance(full_name, str) else None


def repo_ref(repository: Repository) -> RepoRef:
    return RepoRef(owner=repository.owner.login, name=repository.name, clone_url=repository.clone_url)


Reader = Callable[[dict[str, Any], LabelMapping, Origin], Event | Ignored]


def _labeled(payload: dict[str, Any], labels: LabelMapping, origin: Origin) -> Event | Ignored:
    labeled = IssuesLabeled.model_validate(payload)
    issue = labeled.issue
    return work_requested(
        repo_ref(labeled.repository),
        number=labeled.issue.number,
        label=labeled.label.name,
        actor=labeled.sender.login,
        actor_type=labeled.sender.type,
        # GitHub's labeled webhook has no issue-event id; the issue's updated_at is the labeling time.
        labeled_at=labeled.issue.updated_at,
        labels=labels,
        origin=origin,
        # The payload's issue is the issue when the label was applied: the text the labeler vouched for.
        pinned=PinnedText.of(issue.title, issue.body) if issue.title is not None else None,
    )


def _commented(payload: dict[str, Any], _: LabelMapping, origin: Origin) -> Event | Ignored:
    created = IssueCommentCreated.model_validate(payload)
    return issue_commented(
        repo_ref(created.repository),
        number=created.issue.number,
        comment_id=created.comment.id,
        author=created.comment.user.login,
        author_type=created.comment.user.type,
        author_association=created.comment.author_association,
        body=created.comment.body,
        origin=origin,
    )


def _pull_closed(payload: dict[str, Any], _: LabelMapping, origin: Origin) -> Event | Ignored:
    closed = PullRequestClosedPayload.model_validate(payload)
    pull = closed.pull_request
    return pull_request_closed(
        repo_ref(closed.repository),
        number=pull.number,
        closed_at=pull.closed_at,
        merged=bool(pull.merged or pull.merged_at),
        head_ref=pull.head.ref,
        closed_by=closed.sender.login,
        body=pull.body,
        origin=origin,
    )


def _reviewed(payload: dict[str, Any], _: LabelMapping, origin: Origin) -> Event | Ignored:
    submitted = PullRequestReviewSubmitted.model_validate(payload)
    review = submitted.review
    return pull_request_reviewed(
        repo_ref(submitted.repository),
        number=submitted.pull_request.number,
        review_id=review.id,
        reviewer=review.user.login,
        reviewer_type=review.user.type,
        state=review.state,
        body=review.body,
        commit_id=review.commit_id,
        author_association=review.author_association,
        origin=origin,
    )


def _synchronized(payload: dict[str, Any], _: LabelMapping, origin: Origin) -> Event | Ignored:
    moved = PullRequestSynchronize.model_validate(payload)
    pull = moved.pull_request
    return head_moved(
        repo_ref(moved.repository),
        number=pull.number,
        head_ref=pull.head.ref,
        head_sha=pull.head.sha,
        origin=origin,
    )


def _check_completed(payload: dict[str, Any], _: LabelMapping, origin: Origin) -> Event | Ignored:
    completed = CheckRunCompletedPayload.model_validate(payload)
    run = completed.check_run
    return check_run_completed(
        repo_ref(completed.repository),
        check_run_id=run.id,
        name=run.name,
        head_sha=run.head_sha,
        conclusion=run.conclusion,
        pull_numbers=[pull.number for pull in run.pull_requests],
        origin=origin,
        app_slug=run.app.slug if run.app else None,
    )


def _pushed(payload: dict[str, Any], _: LabelMapping, origin: Origin) -> Event | Ignored:
    push = BranchPush.model_validate(payload)
    return base_branch_pushed(
        repo_ref(push.repository),
        ref=push.ref,
        default_branch=push.repository.default_branch,
        before=push.before,
        after=push.after,
        deleted=push.deleted,
        pusher=push.sender.login,
        origin=origin,
    )


def _suite_completed(payload: dict[str, Any], _: LabelMapping, origin: Origin) -> Event | Ignored:
    completed = CheckSuiteCompletedPayload.model_validate(payload)
    suite = completed.check_suite
    return check_suite_completed(
        repo_ref(completed.repository),
        check_suite_id=suite.id,
        head_sha=suite.head_sha,
        conclusion=suite.conclusion,
        pull_numbers=[pull.number for pull in suite.pull_requests],
        app_slug=suite.app.slug if suite.app else None,
        origin=origin,
    )


def _status(payload: dict[str, Any], _: LabelMapping, origin: Origin) -> Event | Ignored:
    status = StatusSet.model_validate(payload)
    return commit_status_changed(
        repo_ref(status.repository),
        status_id=status.id,
        sha=status.sha,
        state=status.state,
        context=status.context,
        description=status.description,
        target_url=status.target_url,
        creator=status.sender.login,
        origin=origin,
    )


READERS: dict[str, Reader] = {
    "issues.labeled": _labeled,
    "issue_comment.created": _commented,
    "pull_request.closed": _pull_closed,
    "pull_request_review.submitted": _reviewed,
    "pull_request.synchronize": _synchronized,
    "pull_request.labeled": labeled_pull_delivery,
    "check_run.completed": _check_completed,
    "push.-": _pushed,
    "status.-": _status,
    "check_suite.completed": _suite_completed,
}


def delivery_event(delivery: Delivery, *, labels: LabelMapping, producer: str) -> Event | Ignored:
    """The event a delivery asks for; its `event_id` (the publish's Nats-Msg-Id) is the change's identity,
    and `source_id` keeps the delivery id."""
    kind = f"{delivery.event}.{delivery.action or '-'}"
    reader = READERS.get(kind)
    if reader is None:
        return Ignored(f"{kind} does not concern Paid")
    try:
        return reader(delivery.payload, labels, Origin(producer, TriggerSource.WEBHOOK, delivery.delivery_id))
    except ValidationError:
        return Ignored(f"{kind} payload lacks a field Paid needs")
