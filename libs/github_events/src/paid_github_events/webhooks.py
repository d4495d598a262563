"""A verified webhook delivery, read as the event it asks Paid for (or why it is ignored)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from paid_contracts import Event, LabelMapping, RepoRef, TriggerSource
from paid_github_events.payloads import (
    IssueCommentCreated,
    IssuesLabeled,
    PullRequestClosedPayload,
    Repository,
)
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


def delivery_event(delivery: Delivery, *, labels: LabelMapping, producer: str) -> Event | Ignored:
    """The event a delivery asks for; its `event_id` (the publish's Nats-Msg-Id) is the change's identity,
    and `source_id` keeps the delivery id."""
    kind = f"{delivery.event}.{delivery.action or '-'}"
    origin = Origin(producer, TriggerSource.WEBHOOK, delivery.delivery_id)
    try:
        if kind == "issues.labeled":
            labeled = IssuesLabeled.model_validate(delivery.payload)
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
            )
        if kind == "issue_comment.created":
            created = IssueCommentCreated.model_validate(delivery.payload)
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
        if kind == "pull_request.closed":
            closed = PullRequestClosedPayload.model_validate(delivery.payload)
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
    except ValidationError:
        return Ignored(f"{kind} payload lacks a field Paid needs")
    return Ignored(f"{kind} does not concern Paid")
