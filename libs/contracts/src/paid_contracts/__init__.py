"""Paid's wire format: event models, NATS subjects and streams. No I/O lives here."""

from paid_contracts.budget_caps import BudgetCaps, BudgetsReply, ListProjectBudgets, SetProjectBudget
from paid_contracts.budgets import BudgetAlerted, BudgetExhausted, BudgetThresholdReached
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
from paid_contracts.follow_ups import FollowUpFinished, follow_up_event_id
from paid_contracts.github import IssueRef, RepoRef
from paid_contracts.github_events import (
    BaseBranchPushed,
    CheckRunCompleted,
    CheckSuiteCompleted,
    CommitStatusChanged,
    IssueCommented,
    PullRequestClosed,
    PullRequestHeadMoved,
    PullRequestReviewed,
    ReviewRequested,
)
from paid_contracts.github_tokens import (
    InstallationTokenReply,
    InstallationTokenRequest,
    InstallationTokenRevoke,
    InstallationTokensRelease,
)
from paid_contracts.iterations import CheckOutcome, IterationSummary
from paid_contracts.pinned import PinnedText
from paid_contracts.planning import PlanCompleted, PlanCreated, PlannedTask, PlanNeedsInput
from paid_contracts.progress import RunOutputAppended
from paid_contracts.projects import (
    AGENT_LABEL_PREFIX,
    LabelMapping,
    ProjectNeedsAttention,
    ProjectRegistered,
    ProjectSnapshot,
    ProjectUpdated,
)
from paid_contracts.prompts import (
    ArmSummary,
    ExperimentConcluded,
    PromptCategory,
    PromptPromoted,
    PromptResolveReply,
    PromptResolveRequest,
)
from paid_contracts.reactions import ReactionAction, ReactionChanged

__all__ = [
    "AGENT_LABEL_PREFIX",
    "ALL_EVENTS",
    "ArmSummary",
    "BaseBranchPushed",
    "BudgetAlerted",
    "BudgetCaps",
    "BudgetExhausted",
    "BudgetThresholdReached",
    "BudgetsReply",
    "BuildRequested",
    "CancelRun",
    "CheckOutcome",
    "CheckRunCompleted",
    "CheckSuiteCompleted",
    "CommandReply",
    "CommitStatusChanged",
    "Correlation",
    "Event",
    "ExperimentConcluded",
    "FollowUpFinished",
    "GetRunStatus",
    "InjectInstruction",
    "InstallationTokenReply",
    "InstallationTokenRequest",
    "InstallationTokenRevoke",
    "InstallationTokensRelease",
    "IssueCommented",
    "IssueRef",
    "IterationSummary",
    "LabelMapping",
    "ListProjectBudgets",
    "PauseRun",
    "PinnedText",
    "PlanCompleted",
    "PlanCreated",
    "PlanNeedsInput",
    "PlanRequested",
    "PlannedTask",
    "ProjectNeedsAttention",
    "ProjectRegistered",
    "ProjectSnapshot",
    "ProjectUpdated",
    "PromptCategory",
    "PromptPromoted",
    "PromptResolveReply",
    "PromptResolveRequest",
    "PullRequestClosed",
    "PullRequestHeadMoved",
    "PullRequestOpened",
    "PullRequestReviewed",
    "ReactionAction",
    "ReactionChanged",
    "RepoRef",
    "ResumeRun",
    "ReviewRequested",
    "RunCommand",
    "RunFinished",
    "RunOutcome",
    "RunOutputAppended",
    "RunStarted",
    "RunStatusView",
    "SetProjectBudget",
    "TaskReady",
    "TraceContext",
    "TriggerSource",
    "WorkRequested",
    "follow_up_event_id",
]
