"""What the Issue Events API and the comment list say, as the same events the webhook path publishes.

Pure functions: ids come from `paid_contracts.identity`, so the gateway and the poller name one change
alike (a labeling by repository, issue, label and second; a comment by its id; a closing by its time).
"""

from __future__ import annotations

from typing import Any

from paid_contracts import (
    BuildRequested,
    Correlation,
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

PRODUCER = "poller"
PAID_MARKER = "<!-- paid:"
Json = dict[str, Any]


def is_bot(user: Json | None) -> bool:
    login = str((user or {}).get("login", ""))
    return (user or {}).get("type") == "Bot" or login.endswith("[bot]")


def work_requested(repo: RepoRef, event: Json, labels: LabelMapping) -> WorkRequested | None:
    """A `labeled` issue event with one of Paid's labels, applied by a person, on an issue (not a PR)."""
    label = str((event.get("label") or {}).get("name", ""))
    kinds: dict[str, type[BuildRequested] | type[PlanRequested]] = {
        labels.build.lower(): BuildRequested,
        labels.plan.lower(): PlanRequested,
    }
    kind = kinds.get(label.lower())
    issue = event.get("issue") or {}
    if (
        event.get("event") != "labeled"
        or kind is None
        or is_bot(event.get("actor"))
        or "pull_request" in issue
    ):
        return None
    number = int(issue["number"])
    return kind(
        event_id=labeled_event_id(repo.owner, repo.name, number, label, str(event["created_at"])),
        producer=PRODUCER,
        correlation=Correlation(repo=repo.full_name, issue=number),
        issue=IssueRef(repo=repo, number=number),
        label=label,
        actor=str(event["actor"]["login"]),
        source=TriggerSource.POLL,
        source_id=f"issue-event:{event['id']}",
    )


def closed_pull_number(event: Json) -> int | None:
    issue = event.get("issue") or {}
    if event.get("event") == "closed" and "pull_request" in issue:
        return int(issue["number"])
    return None


def pull_request_closed(repo: RepoRef, event: Json, pull: Json) -> PullRequestClosed | None:
    closed_at = pull.get("closed_at")
    if not closed_at:
        return None
    number = int(pull["number"])
    return PullRequestClosed(
        event_id=pull_closed_event_id(repo.owner, repo.name, number, str(closed_at)),
        producer=PRODUCER,
        correlation=Correlation(repo=repo.full_name, issue=number),
        repo=repo,
        number=number,
        merged=bool(pull.get("merged") or pull.get("merged_at")),
        head_ref=str(pull["head"]["ref"]),
        closed_by=str((event.get("actor") or {}).get("login")) if event.get("actor") else None,
        closes=closing_references(pull.get("body")),
        source=TriggerSource.POLL,
        source_id=f"issue-event:{event['id']}",
    )


def issue_commented(repo: RepoRef, comment: Json) -> IssueCommented | None:
    """A comment by a person; Paid's own comments (they carry its marker) and bots' are skipped."""
    body = str(comment.get("body") or "")
    if is_bot(comment.get("user")) or PAID_MARKER in body:
        return None
    number = int(str(comment["issue_url"]).rstrip("/").rsplit("/", 1)[1])
    return IssueCommented(
        event_id=comment_event_id(repo.owner, repo.name, number, int(comment["id"])),
        producer=PRODUCER,
        correlation=Correlation(repo=repo.full_name, issue=number),
        issue=IssueRef(repo=repo, number=number),
        comment_id=int(comment["id"]),
        author=str(comment["user"]["login"]),
        author_association=str(comment.get("author_association") or "NONE"),
        body=body,
        source=TriggerSource.POLL,
        source_id=f"comment:{comment['id']}",
    )
