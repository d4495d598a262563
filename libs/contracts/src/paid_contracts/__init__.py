"""Paid's wire format: event models, NATS subjects and streams. No I/O lives here."""

from paid_contracts.catalog import ALL_EVENTS
from paid_contracts.commands import (
    CancelRun,
    CommandReply,
    GetRunStatus,
    InjectInstruction,
    PauseRun,
    ResumeRun,
    RunCommand,
    RunStatusView,
)
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

__all__ = [
    "ALL_EVENTS",
    "BuildRequested",
    "CancelRun",
    "CommandReply",
    "Correlation",
    "Event",
    "GetRunStatus",
    "InjectInstruction",
    "IssueCommented",
    "IssueRef",
    "PauseRun",
    "PlanRequested",
    "PullRequestClosed",
    "PullRequestOpened",
    "RepoRef",
    "ResumeRun",
    "RunCommand",
    "RunFinished",
    "RunOutcome",
    "RunStarted",
    "RunStatusView",
    "TaskReady",
    "TraceContext",
    "TriggerSource",
    "WorkRequested",
]
