"""GitHub changes (webhook deliveries and REST listings) as Paid's contract events, defined once."""

from paid_github_events.commands import COMMANDS, PaidCommand, help_text, parse_command
from paid_github_events.rest import (
    closed_pull,
    closed_pull_number,
    labeled_issue_event,
    listed_check_run,
    listed_check_suite,
    listed_comment,
    listed_review,
    listed_status,
    moved_head,
)
from paid_github_events.review_requests import labeled_pull, labeled_pull_number
from paid_github_events.rules import Ignored, Origin, is_bot, work_kinds
from paid_github_events.webhooks import Delivery, delivery_event, repo_ref

__all__ = [
    "COMMANDS",
    "Delivery",
    "Ignored",
    "Origin",
    "PaidCommand",
    "closed_pull",
    "closed_pull_number",
    "delivery_event",
    "help_text",
    "is_bot",
    "labeled_issue_event",
    "labeled_pull",
    "labeled_pull_number",
    "listed_check_run",
    "listed_check_suite",
    "listed_comment",
    "listed_review",
    "listed_status",
    "moved_head",
    "parse_command",
    "repo_ref",
    "work_kinds",
]
