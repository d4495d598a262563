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


EVENTS: tuple[type[Event], ...] = (IssueCommented, PullRequestClosed)
