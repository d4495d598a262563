"""Paid's wire format: event models, NATS subjects and streams. No I/O lives here."""

from paid_contracts.catalog import ALL_EVENTS
from paid_contracts.envelope import Correlation, Event, TraceContext
from paid_contracts.events import (
    BuildRequested,
    PlanRequested,
    PullRequestOpened,
    RunFinished,
    RunOutcome,
    RunStarted,
    TaskReady,
    TriggerSource,
    WorkRequested,
)
from paid_contracts.github import IssueRef, RepoRef
from paid_contracts.github_events import IssueCommented, PullRequestClosed
from paid_contracts.progress import RunOutputAppended

__all__ = [
    "ALL_EVENTS",
    "BuildRequested",
    "Correlation",
    "Event",
    "IssueCommented",
    "IssueRef",
    "PlanRequested",
    "PullRequestClosed",
    "PullRequestOpened",
    "RepoRef",
    "RunFinished",
    "RunOutcome",
    "RunOutputAppended",
    "RunStarted",
    "TaskReady",
    "TraceContext",
    "TriggerSource",
    "WorkRequested",
]
