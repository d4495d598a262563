"""The few fields of GitHub's webhook payloads Paid reads; everything else is ignored.

Deliberately narrow and tolerant: GitHub adds fields often, and only these decide what Paid does.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Account(_Lenient):
    login: str
    type: str = "User"


class Repository(_Lenient):
    name: str
    owner: Account
    clone_url: str | None = None


class Label(_Lenient):
    name: str


class Issue(_Lenient):
    number: int
    updated_at: str
    title: str | None = None
    body: str | None = None


class IssuesLabeled(_Lenient):
    """`X-GitHub-Event: issues`, `action: labeled`."""

    action: str
    issue: Issue
    label: Label
    repository: Repository
    sender: Account


class Comment(_Lenient):
    id: int
    body: str | None = None
    user: Account
    author_association: str = "NONE"


class IssueCommentCreated(_Lenient):
    """`X-GitHub-Event: issue_comment`, `action: created`."""

    action: str
    issue: Issue
    comment: Comment
    repository: Repository
    sender: Account


class Branch(_Lenient):
    ref: str


class PullRequest(_Lenient):
    number: int
    merged: bool | None = None
    merged_at: str | None = None
    closed_at: str | None = None
    body: str | None = None
    head: Branch


class PullRequestClosedPayload(_Lenient):
    """`X-GitHub-Event: pull_request`, `action: closed`."""

    action: str
    pull_request: PullRequest
    repository: Repository
    sender: Account


class Review(_Lenient):
    id: int
    user: Account
    body: str | None = None
    commit_id: str
    state: str
    author_association: str = "NONE"


class PullRequestNumber(_Lenient):
    number: int


class PullRequestReviewSubmitted(_Lenient):
    """`X-GitHub-Event: pull_request_review`, `action: submitted`."""

    review: Review
    pull_request: PullRequestNumber
    repository: Repository


class Head(_Lenient):
    ref: str
    sha: str


class SynchronizedPull(_Lenient):
    number: int
    head: Head


class HeadRepository(_Lenient):
    full_name: str


class LabeledHead(Head):
    repo: HeadRepository | None = None  # null on GitHub once the fork is deleted


class LabeledPull(_Lenient):
    number: int
    updated_at: str
    head: LabeledHead


class PullRequestLabeled(_Lenient):
    """`X-GitHub-Event: pull_request`, `action: labeled`."""

    label: Label
    pull_request: LabeledPull
    repository: Repository
    sender: Account


class PullRequestSynchronize(_Lenient):
    """`X-GitHub-Event: pull_request`, `action: synchronize`."""

    pull_request: SynchronizedPull
    repository: Repository


class PushedRepository(Repository):
    default_branch: str


class BranchPush(_Lenient):
    """`X-GitHub-Event: push` (no action)."""

    ref: str
    before: str
    after: str
    deleted: bool = False
    repository: PushedRepository
    sender: Account


class StatusSet(_Lenient):
    """`X-GitHub-Event: status` (no action); its sender is the status's creator."""

    id: int
    sha: str
    state: str
    context: str
    description: str | None = None
    target_url: str | None = None
    repository: Repository
    sender: Account


class App(_Lenient):
    slug: str | None = None


class CheckRun(_Lenient):
    id: int
    name: str
    head_sha: str
    conclusion: str
    pull_requests: list[PullRequestNumber] = []
    app: App | None = None


class CheckSuite(_Lenient):
    id: int
    head_sha: str
    conclusion: str | None = None
    pull_requests: list[PullRequestNumber] = []
    app: App | None = None


class CheckSuiteCompletedPayload(_Lenient):
    """`X-GitHub-Event: check_suite`, `action: completed`."""

    check_suite: CheckSuite
    repository: Repository


class CheckRunCompletedPayload(_Lenient):
    """`X-GitHub-Event: check_run`, `action: completed`."""

    check_run: CheckRun
    repository: Repository
