"""GitHub activity that follows work already requested: answers in comments, pull requests closed."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from paid_contracts import subjects
from paid_contracts.envelope import Event
from paid_contracts.events import TriggerSource
from paid_contracts.github import IssueRef, RepoRef


class IssueCommented(Event):
    """A comment was created on an issue (or a pull request's conversation) Paid may be waiting on."""

    SUBJECT: ClassVar[str] = subjects.GITHUB_ISSUE_COMMENTED
    type: Literal["paid.github.issue_commented"] = "paid.github.issue_commented"
    issue: IssueRef
    comment_id: int = Field(gt=0)
    author: str = Field(description="GitHub login of the comment's author")
    author_association: str = Field(
        default="NONE", description="GitHub author_association: OWNER, MEMBER, COLLABORATOR, NONE, ..."
    )
    body: str
    source: TriggerSource
    source_id: str = Field(description="GitHub delivery id (webhook) or the comment's identity (poll)")
    command: str | None = Field(
        default=None,
        description="the `/paid <command>` the comment gives (lower-cased; may be unknown, '' for `/paid` "
        "alone), read by the shared translator; None when it gives none",
    )
    command_argument: str = ""


class PullRequestClosed(Event):
    """A pull request was closed, merged or not; `closes` lists the issues its body says it closes."""

    SUBJECT: ClassVar[str] = subjects.GITHUB_PULL_REQUEST_CLOSED
    type: Literal["paid.github.pull_request_closed"] = "paid.github.pull_request_closed"
    repo: RepoRef
    number: int = Field(gt=0)
    merged: bool
    head_ref: str
    closed_by: str | None = None
    closes: tuple[int, ...] = Field(default=(), description="issue numbers named by Closes/Fixes/Resolves #N")
    source: TriggerSource
    source_id: str


class PullRequestReviewed(Event):
    """A review was submitted on a pull request (by a person; Paid's and bots' reviews are not events)."""

    SUBJECT: ClassVar[str] = subjects.GITHUB_PULL_REQUEST_REVIEWED
    type: Literal["paid.github.pull_request_reviewed"] = "paid.github.pull_request_reviewed"
    repo: RepoRef
    number: int = Field(gt=0)
    review_id: int = Field(gt=0)
    reviewer: str
    state: Literal["approved", "changes_requested", "commented"]
    body: str
    commit_id: str
    author_association: str = "NONE"
    source: TriggerSource
    source_id: str


class PullRequestHeadMoved(Event):
    """A pull request's head branch moved to a new commit (a push; `pull_request.synchronize`)."""

    SUBJECT: ClassVar[str] = subjects.GITHUB_PULL_REQUEST_HEAD_MOVED
    type: Literal["paid.github.pull_request_head_moved"] = "paid.github.pull_request_head_moved"
    repo: RepoRef
    number: int = Field(gt=0)
    head_ref: str
    head_sha: str
    source: TriggerSource
    source_id: str


class CheckRunCompleted(Event):
    """A check run finished on a commit; `pull_numbers` are the open pull requests with that head."""

    SUBJECT: ClassVar[str] = subjects.GITHUB_CHECK_RUN_COMPLETED
    type: Literal["paid.github.check_run_completed"] = "paid.github.check_run_completed"
    repo: RepoRef
    check_run_id: int = Field(gt=0)
    name: str
    head_sha: str
    conclusion: str = Field(
        description="success, failure, neutral, cancelled, timed_out, action_required, ..."
    )
    pull_numbers: tuple[int, ...] = ()
    source: TriggerSource
    source_id: str
    app_slug: str | None = Field(
        default=None, description="the GitHub App that wrote the check run (`check_run.app.slug`)"
    )


class BaseBranchPushed(Event):
    """A repository's default branch moved to a new commit (a push or a merge); the pull requests
    against it may no longer merge. Heard from `push` webhooks only: polling has no feed of pushes
    (a merged pull request, which polling does see, arrives as PullRequestClosed)."""

    SUBJECT: ClassVar[str] = subjects.GITHUB_BASE_BRANCH_PUSHED
    type: Literal["paid.github.base_branch_pushed"] = "paid.github.base_branch_pushed"
    repo: RepoRef
    branch: str
    before: str
    after: str
    pusher: str
    source: TriggerSource
    source_id: str


class CommitStatusChanged(Event):
    """A commit status was set on a commit (the Statuses API: a CI that writes no check runs)."""

    SUBJECT: ClassVar[str] = subjects.GITHUB_COMMIT_STATUS_CHANGED
    type: Literal["paid.github.commit_status_changed"] = "paid.github.commit_status_changed"
    repo: RepoRef
    status_id: int = Field(gt=0)
    sha: str
    state: str = Field(description="pending, success, failure or error")
    context: str
    description: str = ""
    target_url: str | None = None
    creator: str = Field(description="the login that set the status (`status.creator`; the webhook's sender)")
    source: TriggerSource
    source_id: str


class CheckSuiteCompleted(Event):
    """Every check run of a suite (one app's checks of one commit) finished; `conclusion` is the worst."""

    SUBJECT: ClassVar[str] = subjects.GITHUB_CHECK_SUITE_COMPLETED
    type: Literal["paid.github.check_suite_completed"] = "paid.github.check_suite_completed"
    repo: RepoRef
    check_suite_id: int = Field(gt=0)
    head_sha: str
    conclusion: str
    pull_numbers: tuple[int, ...] = ()
    app_slug: str | None = Field(
        default=None, description="the GitHub App of the suite (`check_suite.app.slug`)"
    )
    source: TriggerSource
    source_id: str


class ReviewRequested(Event):
    """Someone asked Paid to review a pull request (review mode): the review label put on it. The head
    is pinned here, as the trigger saw it (webhook: the labeled payload's head; polling: the head when
    the poll read the labeling); Paid reviews that commit or nothing. The pull request may come from a
    fork (`head_repo` is then the fork's full name): everything in it is untrusted. Whether `requested_by`
    may ask is decided where the review is acted on (write access, as for every trigger)."""

    SUBJECT: ClassVar[str] = subjects.GITHUB_REVIEW_REQUESTED
    type: Literal["paid.github.review_requested"] = "paid.github.review_requested"
    repo: RepoRef
    number: int = Field(gt=0)
    head_sha: str = Field(min_length=40, max_length=64, pattern="^[0-9a-f]+$")
    head_ref: str
    head_repo: str | None = Field(
        default=None,
        description="`owner/name` of the repository the head lives in; None once a fork is deleted",
    )
    requested_by: str = Field(description="the login that put the label on")
    label: str
    source: TriggerSource
    source_id: str


EVENTS: tuple[type[Event], ...] = (
    IssueCommented,
    PullRequestClosed,
    PullRequestReviewed,
    PullRequestHeadMoved,
    CheckRunCompleted,
    BaseBranchPushed,
    CommitStatusChanged,
    CheckSuiteCompleted,
    ReviewRequested,
)
