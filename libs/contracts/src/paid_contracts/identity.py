"""Event ids derived from what happened on GitHub, not from how Paid heard of it.

The webhook path and the polling path compute the same id for the same change, and the id is the
JetStream `Nats-Msg-Id`, so a change seen by both paths is one event. Pure functions, no I/O.

A labeling is identified by repository, issue, label and the second it was applied. GitHub's
`issues.labeled` webhook carries no issue-event id, but its `issue.updated_at` is the labeling time,
which the Issue Events API reports as the `labeled` event's `created_at`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

CLOSING_REFERENCE = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s+#(\d+)\b", re.IGNORECASE)


def github_second(moment: str | datetime) -> str:
    """A GitHub timestamp normalized to whole seconds in UTC (`2024-05-01T12:00:00Z`)."""
    parsed = moment if isinstance(moment, datetime) else datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _repo(owner: str, name: str) -> str:
    return f"{owner}/{name}".lower()


def labeled_event_id(owner: str, name: str, number: int, label: str, labeled_at: str | datetime) -> str:
    return f"github:{_repo(owner, name)}#{number}:labeled:{label.lower()}:{github_second(labeled_at)}"


def comment_event_id(owner: str, name: str, number: int, comment_id: int) -> str:
    return f"github:{_repo(owner, name)}#{number}:comment:{comment_id}"


def pull_closed_event_id(owner: str, name: str, number: int, closed_at: str | datetime) -> str:
    return f"github:{_repo(owner, name)}#{number}:closed:{github_second(closed_at)}"


def review_event_id(owner: str, name: str, number: int, review_id: int) -> str:
    return f"github:{_repo(owner, name)}#{number}:review:{review_id}"


def head_moved_event_id(owner: str, name: str, number: int, head_sha: str) -> str:
    """A pull request's head reaching a commit (a push to its branch): both paths see the sha."""
    return f"github:{_repo(owner, name)}#{number}:head:{head_sha}"


def check_run_completed_event_id(owner: str, name: str, check_run_id: int) -> str:
    return f"github:{_repo(owner, name)}:check-run:{check_run_id}:completed"


def base_pushed_event_id(owner: str, name: str, branch: str, after: str) -> str:
    """A branch reaching a commit: the same push delivered twice (a redelivery) is one event."""
    return f"github:{_repo(owner, name)}:branch:{branch}:{after}"


def check_suite_completed_event_id(owner: str, name: str, check_suite_id: int) -> str:
    return f"github:{_repo(owner, name)}:check-suite:{check_suite_id}:completed"


def commit_status_event_id(owner: str, name: str, status_id: int) -> str:
    return f"github:{_repo(owner, name)}:status:{status_id}"


def closing_references(body: str | None) -> tuple[int, ...]:
    """Issue numbers a pull request's body closes (`Closes #3`, `fixes #4`, `Resolved #5`)."""
    return tuple(sorted({int(number) for number in CLOSING_REFERENCE.findall(body or "")}))
