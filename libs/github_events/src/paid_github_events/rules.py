"""What a GitHub change means for Paid, whichever way Paid heard of it (webhook or polling).

The rules live here once: which labels request work, whose actions are ignored (bots, and Paid
itself through its marker), and how each change is named (`paid_contracts.identity`), so the
gateway and the poller publish the same event, with the same id, for the same change.
"""

from __future__ import annotations

from dataclasses import dataclass

from paid_contracts import (
    AGENT_LABEL_PREFIX,
    BuildRequested,
    Correlation,
    IssueCommented,
    IssueRef,
    LabelMapping,
    PinnedText,
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
from paid_contracts.markers import written_by_paid
from paid_github_events.commands import parse_command


@dataclass(frozen=True)
class Origin:
    """Who publishes, and how it heard: the delivery id for a webhook, the REST item for polling."""

    producer: str
    source: TriggerSource
    source_id: str


@dataclass(frozen=True)
class Ignored:
    reason: str


def is_bot(login: str, account_type: str | None) -> bool:
    return account_type == "Bot" or login.endswith("[bot]")


def work_kinds(labels: LabelMapping) -> dict[str, type[BuildRequested] | type[PlanRequested]]:
    """Label name (lower-cased, as GitHub compares them) -> the work it requests. The auto label is a
    plan request marked `auto`; only a labeling says so, never the issue's text."""
    return {
        labels.build.lower(): BuildRequested,
        labels.plan.lower(): PlanRequested,
        labels.auto.lower(): PlanRequested,
    }


def agent_label(label: str) -> str | None:
    """The agent a `paid-agent:<agent>` label names (its text after the prefix, as written), else None."""
    if label.lower().startswith(AGENT_LABEL_PREFIX):
        return label[len(AGENT_LABEL_PREFIX) :]
    return None


def work_requested(
    repo: RepoRef,
    *,
    number: int,
    label: str,
    actor: str,
    actor_type: str | None,
    labeled_at: str,
    labels: LabelMapping,
    origin: Origin,
    pinned: PinnedText | None = None,
) -> WorkRequested | Ignored:
    """An issue labeled with one of Paid's labels by a person; `pinned`, the issue's text then. A
    `paid-agent:<agent>` label is a build request naming its agent; the auto label, a plan request
    marked `auto`."""
    agent = agent_label(label)
    kind = BuildRequested if agent is not None else work_kinds(labels).get(label.lower())
    if kind is None:
        return Ignored(f"label {label!r} is not one of Paid's labels")
    if is_bot(actor, actor_type):
        return Ignored(f"{actor} is a bot")
    marks: dict[str, object] = {"agent": agent} if agent is not None else {}
    if label.lower() == labels.auto.lower():
        marks["auto"] = True
    return kind(
        **marks,
        event_id=labeled_event_id(repo.owner, repo.name, number, label, labeled_at),
        producer=origin.producer,
        correlation=Correlation(repo=repo.full_name, issue=number),
        issue=IssueRef(repo=repo, number=number),
        label=label,
        actor=actor,
        source=origin.source,
        source_id=origin.source_id,
        pinned=pinned,
    )


def issue_commented(
    repo: RepoRef,
    *,
    number: int,
    comment_id: int,
    author: str,
    author_type: str | None,
    author_association: str,
    body: str | None,
    origin: Origin,
) -> IssueCommented | Ignored:
    """A comment by a person; Paid's own comments (they carry its marker) and bots' are ignored."""
    if is_bot(author, author_type) or written_by_paid(body):
        return Ignored("comments by Paid and other bots are ignored")
    command = parse_command(body)
    return IssueCommented(
        event_id=comment_event_id(repo.owner, repo.name, number, comment_id),
        producer=origin.producer,
        correlation=Correlation(repo=repo.full_name, issue=number),
        issue=IssueRef(repo=repo, number=number),
        comment_id=comment_id,
        author=author,
        author_association=author_association,
        body=body or "",
        source=origin.source,
        source_id=origin.source_id,
        command=command.name if command else None,
        command_argument=command.argument if command else "",
    )


def pull_request_closed(
    repo: RepoRef,
    *,
    number: int,
    closed_at: str | None,
    merged: bool,
    head_ref: str,
    closed_by: str | None,
    body: str | None,
    origin: Origin,
) -> PullRequestClosed | Ignored:
    if not closed_at:
        return Ignored("the pull request has no closed_at")
    return PullRequestClosed(
        event_id=pull_closed_event_id(repo.owner, repo.name, number, closed_at),
        producer=origin.producer,
        correlation=Correlation(repo=repo.full_name, issue=number),
        repo=repo,
        number=number,
        merged=merged,
        head_ref=head_ref,
        closed_by=closed_by,
        closes=closing_references(body),
        source=origin.source,
        source_id=origin.source_id,
    )
