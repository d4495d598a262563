"""GitHub changes (webhook deliveries and REST listings) as Paid's contract events, defined once."""

from paid_github_events.rest import (
    closed_pull,
    closed_pull_number,
    labeled_issue_event,
    listed_check_run,
    listed_comment,
    listed_review,
    moved_head,
)
from paid_github_events.rules import Ignored, Origin, is_bot, work_kinds
from paid_github_events.webhooks import Delivery, delivery_event, repo_ref

__all__ = [
    "Delivery",
    "Ignored",
    "Origin",
    "closed_pull",
    "closed_pull_number",
    "delivery_event",
    "is_bot",
    "labeled_issue_event",
    "listed_check_run",
    "listed_comment",
    "listed_review",
    "moved_head",
    "repo_ref",
    "work_kinds",
]
