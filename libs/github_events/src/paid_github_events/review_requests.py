"""Review mode's trigger: the review label put on a pull request (often a person's, often from a
fork), read alike from the `pull_request.labeled` webhook and from the Issue Events API, with the
same event id on both paths (the labeling's, as for an issue's label).

The head is pinned here. The webhook's payload is the pull request as it was when labeled; polling
reads the pull request when it sees the labeling, so a push within that window (one poll interval at
most) is what polling pins: its limit, as for an issue's text. Whether the labeler may ask is decided
where the request is acted on (the executor), with the same check as every other trigger."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from paid_contracts import Correlation, LabelMapping, RepoRef, ReviewRequested, TriggerSource
from paid_contracts.identity import labeled_event_id
from paid_github_events.payloads import PullRequestLabeled
from paid_github_events.rules import Ignored, Origin, is_bot

Json = dict[str, Any]


def review_requested(
    repo: RepoRef,
    *,
    number: int,
    label: str,
    actor: str,
    actor_type: str | None,
    labeled_at: str,
    head_sha: str,
    head_ref: str,
    head_repo: str | None,
    labels: LabelMapping,
    origin: Origin,
) -> ReviewRequested | Ignored:
    if label.lower() != labels.review.lower():
        return Ignored(f"pull_request.labeled with {label!r}: only the review label asks Paid for something")
    if is_bot(actor, actor_type):
        return Ignored(f"{actor} is a bot")
    return ReviewRequested(
        event_id=labeled_event_id(repo.owner, repo.name, number, label, labeled_at),
        producer=origin.producer,
        correlation=Correlation(repo=repo.full_name, issue=number),
        repo=repo,
        number=number,
        head_sha=head_sha,
        head_ref=head_ref,
        head_repo=head_repo,
        requested_by=actor,
        label=label,
        source=origin.source,
        source_id=origin.source_id,
    )


def labeled_pull_delivery(payload: Json, labels: LabelMapping, origin: Origin) -> ReviewRequested | Ignored:
    """`X-GitHub-Event: pull_request`, `action: labeled`."""
    labeled = PullRequestLabeled.model_validate(payload)
    pull = labeled.pull_request
    owner = labeled.repository.owner.login
    return review_requested(
        RepoRef(owner=owner, name=labeled.repository.name, clone_url=labeled.repository.clone_url),
        number=pull.number,
        label=labeled.label.name,
        actor=labeled.sender.login,
        actor_type=labeled.sender.type,
        labeled_at=pull.updated_at,  # as for issues: the labeled webhook's updated_at is the labeling time
        head_sha=pull.head.sha,
        head_ref=pull.head.ref,
        head_repo=pull.head.repo.full_name if pull.head.repo else None,
        labels=labels,
        origin=origin,
    )


def labeled_pull_number(event: Json, labels: LabelMapping) -> int | None:
    """The pull request an Issue Events `labeled` entry put the review label on (the caller then reads
    the pull request for its head); None for any other entry."""
    issue = event.get("issue") or {}
    label = str((event.get("label") or {}).get("name", ""))
    if event.get("event") != "labeled" or "pull_request" not in issue:
        return None
    return int(issue["number"]) if label.lower() == labels.review.lower() else None


def labeled_pull(
    repo: RepoRef, event: Json, pull: Json, labels: LabelMapping, *, producer: str
) -> ReviewRequested | None:
    """The review request a `labeled` issue event made, with `pull` as the poll read it just now."""
    actor = event.get("actor") or {}
    try:
        head = pull["head"]
        found = review_requested(
            repo,
            number=int(pull["number"]),
            label=str((event.get("label") or {}).get("name", "")),
            actor=str(actor.get("login", "")),
            actor_type=actor.get("type") if isinstance(actor.get("type"), str) else None,
            labeled_at=str(event["created_at"]),
            head_sha=str(head["sha"]),
            head_ref=str(head["ref"]),
            head_repo=str(head["repo"]["full_name"]) if head.get("repo") else None,
            labels=labels,
            origin=Origin(producer, TriggerSource.POLL, f"issue-event:{event['id']}"),
        )
    except (KeyError, TypeError, ValueError, ValidationError):
        return None
    return None if isinstance(found, Ignored) else found
