"""Typed inputs and outputs of the conversation workflow and its activities, grown additively."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from paid_contracts import IssueRef
from paid_executor.params import IssueDetails, RunContext, WorkspaceInfo

RoundKind = Literal["review", "ci", "conflict"]
ROUND_KINDS: tuple[RoundKind, ...] = ("review", "ci", "conflict")


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReviewThread(_Params):
    """One review comment as it read when the round was requested (an edit afterwards changes nothing)."""

    comment_id: int = Field(gt=0)
    author: str
    path: str
    line: int | None = None
    diff_hunk: str = ""
    body: str


class RoundRequest(_Params):
    """What asks for a round: `change_id` names the GitHub change (a review, a check run), so the same
    change heard twice (webhook and poller, a redelivery) asks once."""

    change_id: str
    kind: RoundKind
    requested_by: str
    summary: str = ""  # the review's own text, from a trusted author
    threads: tuple[ReviewThread, ...] = ()
    failure_signature: str = ""  # a CI round's failure, so the same failure twice stops the rounds


class ConversationPolicy(_Params):
    """Fixed when the conversation starts, like a run's policy."""

    agent: str = "demo"
    sandbox: str = "bwrap"
    agent_timeout_seconds: float = 30 * 60
    heartbeat_timeout_seconds: float = 20
    home_start_timeout_seconds: float = 30
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    round_cap: int = 3  # per kind
    history_limit: int = 10_000  # events; past it the conversation continues as new (Temporal may ask sooner)


class ConversationInput(_Params):
    """The conversation's start, and the state it carries over a continue-as-new."""

    issue: IssueRef
    number: int = Field(gt=0, description="the pull request")
    branch: str
    policy: ConversationPolicy = ConversationPolicy()
    seen: tuple[str, ...] = ()  # change ids already taken (done, refused by the cap, or pending)
    counts: dict[str, int] = Field(default_factory=dict)  # rounds started per kind
    pending: tuple[RoundRequest, ...] = ()
    rounds: int = 0
    lines: dict[str, str] = Field(default_factory=dict)  # the conversation comment's lines, by round
    last_failure: str = ""  # the failure signature of the last CI round
    stopped_kinds: tuple[str, ...] = ()  # kinds of round that start no more (the same failure twice)
    rounds_without_push: int = 0  # rounds that ended without pushing their work


class ConversationStatus(_Params):
    step: str
    rounds: int
    counts: dict[str, int]
    pending: int
    seen: tuple[str, ...]


class RoundWorkspaceInput(_Params):
    run: RunContext
    issue: IssueDetails
    branch: str
    merge_base: bool = False  # a conflict round: the agent starts from the base merged into the head


class RoundWorkspaceInfo(WorkspaceInfo):
    """`base_sha` is where the agent's copy starts: the head, or for a conflict round the merge of the
    base into it, with git's markers in `conflicts`."""

    head_sha: str = ""  # the pull request's head as fetched: the push leases on it
    merged_base_sha: str = ""  # the base merged into it (a conflict round), else ""
    conflicts: tuple[str, ...] = ()


class RoundPublishInput(_Params):
    run: RunContext
    clone_url: str
    branch: str
    head_sha: str  # the commit the agent's copy started from (the import's parent)
    message: str
    # A conflict round: the pushed commit is a merge with these parents (the head it leases on, then
    # the base), and none of `conflicts` may still hold a conflict marker.
    merge_parents: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    checked_commit: str = ""  # the iteration's import (worktree_import.recommit); "": import again


class RoundPublished(_Params):
    head_sha: str
    changed_files: int


class ThreadRepliesInput(_Params):
    issue: IssueRef
    number: int
    round_key: str  # names the round in the replies' markers, so a retried activity replies once
    threads: tuple[ReviewThread, ...]
    body: str


class FollowUpSummaryInput(_Params):
    """What the conversation's rounds came to, published once when it ends."""

    workflow_id: str
    issue: IssueRef
    number: int
    rounds: dict[str, int]
    rounds_without_push: int
    ci_stopped: bool


class ConversationCommentInput(_Params):
    issue: IssueRef
    number: int
    body: str  # without the marker: the activity adds it
