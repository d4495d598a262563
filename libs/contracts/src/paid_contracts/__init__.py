"""Paid's wire format: event models, NATS subjects and streams. No I/O lives here."""

from paid_contracts.envelope import Correlation, Event, TraceContext
from paid_contracts.events import (
    ALL_EVENTS,
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

__all__ = [
    "ALL_EVENTS",
    "BuildRequested",
    "Correlation",
    "Event",
    "IssueRef",
    "PlanRequested",
    "PullRequestOpened",
    "RepoRef",
    "RunFinished",
    "RunOutcome",
    "RunStarted",
    "TaskReady",
    "TraceContext",
    "TriggerSource",
    "WorkRequested",
]
