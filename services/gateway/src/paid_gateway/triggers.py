"""Decides what a verified webhook delivery means for Paid: an event to publish, or why it is ignored.

Event ids come from the GitHub change itself (`paid_contracts.identity`), the same ids the poller
derives, so a change both paths see is one event; `source_id` keeps the delivery id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from paid_contracts import (
    BuildRequested,
    Correlation,
    Event,
    IssueCommented,
    IssueRef,
    LabelMapping,
    PlanRequested,
    PullRequestClosed,
    RepoRef,
    TriggerSource,
    WorkRequested,
)
from paid_contracts.identity import (
    closing_references,
    comment_event_id,
    labeled_event_id,
    pull_closed_event_id,
)
from paid_gateway.payloads import IssueCommentCreated, IssuesLabeled, PullRequestClosedPayload, Repository

PRODUCER = "gateway"
PAID_MARKER = "<!-- paid:"


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


@dataclass(frozen=True)
class Ignored:
    reason: str


def interpret(delivery: Delivery, *, labels: LabelMapping) -> Event | Ignored:
    """The event a delivery asks for; its `event_id` (the publish's Nats-Msg-Id) is the change's identity."""
    kind = f"{delivery.event}.{delivery.action or '-'}"
    try:
        if kind == "issues.labeled":
            return _labeled(delivery, IssuesLabeled.model_validate(delivery.payload), labels)
        if kind == "issue_comment.created":
            return _commented(delivery, IssueCommentCreated.model_validate(delivery.payload))
        if kind == "pull_request.closed":
            return _pull_closed(delivery, PullRequestClosedPayload.model_validate(delivery.payload))
    except ValidationError:
        return Ignored(f"{kind} payload lacks a field Paid needs")
    return Ignored(f"{kind} does not concern Paid")


def repo_ref(repository: Repository) -> RepoRef:
    return RepoRef(owner=repository.owner.login, name=repository.name, clone_url=repository.clone_url)


def work_kinds(labels: LabelMapping) -> dict[str, type[BuildRequested] | type[PlanRequested]]:
    """Label name (lower-cased, as GitHub compares them) -> the work it requests."""
    return {labels.build.lower(): BuildRequested, labels.plan.lower(): PlanRequested}


def _labeled(delivery: Delivery, labeled: IssuesLabeled, labels: LabelMapping) -> WorkRequested | Ignored:
    kind = work_kinds(labels).get(labeled.label.name.lower())
    if kind is None:
        return Ignored(f"label {labeled.label.name!r} is not one of Paid's labels")
    if labeled.sender.is_bot:
        return Ignored(f"{labeled.sender.login} is a bot")
    repo = repo_ref(labeled.repository)
    issue = IssueRef(repo=repo, number=labeled.issue.number)
    return kind(
        event_id=labeled_event_id(
            repo.owner, repo.name, issue.number, labeled.label.name, labeled.issue.updated_at
        ),
        producer=PRODUCER,
        correlation=Correlation(repo=repo.full_name, issue=issue.number),
        issue=issue,
        label=labeled.label.name,
        actor=labeled.sender.login,
        source=TriggerSource.WEBHOOK,
        source_id=delivery.delivery_id,
    )


def _commented(delivery: Delivery, created: IssueCommentCreated) -> IssueCommented | Ignored:
    author = created.comment.user
    body = created.comment.body or ""
    if author.is_bot or PAID_MARKER in body:
        return Ignored("comments by Paid and other bots are ignored")
    repo = repo_ref(created.repository)
    issue = IssueRef(repo=repo, number=created.issue.number)
    return IssueCommented(
        event_id=comment_event_id(repo.owner, repo.name, issue.number, created.comment.id),
        producer=PRODUCER,
        correlation=Correlation(repo=repo.full_name, issue=issue.number),
        issue=issue,
        comment_id=created.comment.id,
        author=author.login,
        author_association=created.comment.author_association,
        body=body,
        source=TriggerSource.WEBHOOK,
        source_id=delivery.delivery_id,
    )


def _pull_closed(delivery: Delivery, closed: PullRequestClosedPayload) -> PullRequestClosed | Ignored:
    pull = closed.pull_request
    if pull.closed_at is None:
        return Ignored("pull_request.closed payload has no closed_at")
    repo = repo_ref(closed.repository)
    return PullRequestClosed(
        event_id=pull_closed_event_id(repo.owner, repo.name, pull.number, pull.closed_at),
        producer=PRODUCER,
        correlation=Correlation(repo=repo.full_name, issue=pull.number),
        repo=repo,
        number=pull.number,
        merged=bool(pull.merged or pull.merged_at),
        head_ref=pull.head.ref,
        closed_by=closed.sender.login,
        closes=closing_references(pull.body),
        source=TriggerSource.WEBHOOK,
        source_id=delivery.delivery_id,
    )
