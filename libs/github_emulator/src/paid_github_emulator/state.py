"""In-memory state of the emulated GitHub: users, repositories and everything inside them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from paid_github_emulator.check_records import CheckRun, CheckSuite, CommitStatus

Permission = Literal["admin", "maintain", "write", "triage", "read", "none"]
PERMISSION_RANK: dict[str, int] = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class User:
    id: int
    login: str
    token: str
    name: str | None
    email: str | None
    created_at: datetime
    site_admin: bool = False
    type: str = "User"  # "Bot" for a GitHub App's `slug[bot]` user


@dataclass
class Label:
    id: int
    name: str
    color: str
    description: str | None
    default: bool = False


@dataclass
class PullDetails:
    """The pull-request half of an issue: on GitHub every pull request is also an issue."""

    id: int
    head_ref: str
    base_ref: str
    head_sha: str
    base_sha: str
    draft: bool = False
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    commits: int = 0
    additions: int = 0
    deletions: int = 0
    changed_files: int = 0
    mergeable: bool | None = None  # None until computed, and once merged (as on GitHub)
    head_repo: str | None = None  # a fork's full name when the head lives there; None: this repository


@dataclass
class Issue:
    id: int
    number: int
    title: str
    body: str | None
    user: str
    created_at: datetime
    updated_at: datetime
    state: Literal["open", "closed"] = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    labels: list[str] = field(default_factory=list)
    comment_ids: list[int] = field(default_factory=list)
    pull: PullDetails | None = None
    sub_issues: list[int] = field(default_factory=list)  # numbers, in the order added
    parent: int | None = None


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: str
    created_at: datetime
    updated_at: datetime
    reactions: dict[int, tuple[str, str, datetime]] = field(default_factory=dict)  # id -> login, content, at


@dataclass(frozen=True)
class IssueEvent:
    """One entry of GitHub's Issue Events API (`labeled`, `unlabeled`, `closed`, `reopened`, `merged`)."""

    id: int
    issue_number: int
    event: str
    actor: str
    created_at: datetime
    label: str | None = None
    commit_id: str | None = None


@dataclass
class Hook:
    id: int
    url: str
    secret: str | None
    content_type: str
    events: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime
    last_status: int | None = None
    last_message: str | None = None

    def wants(self, event: str) -> bool:
        return self.active and (event in self.events or "*" in self.events or event == "ping")


@dataclass
class Review:
    id: int
    pull_number: int
    user: str
    state: str  # REST's words: PENDING, COMMENTED, APPROVED, CHANGES_REQUESTED, DISMISSED
    body: str
    commit_id: str
    submitted_at: datetime | None = None


@dataclass
class ReviewComment:
    id: int
    review_id: int
    pull_number: int
    user: str
    body: str
    path: str
    line: int
    side: str  # LEFT (the base's lines) or RIGHT (the head's)
    commit_id: str
    diff_hunk: str
    created_at: datetime
    updated_at: datetime
    in_reply_to: int | None = None


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    private: bool
    default_branch: str
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime
    description: str | None = None
    labels: dict[str, Label] = field(default_factory=dict)  # keyed by lower-cased name
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    issue_events: list[IssueEvent] = field(default_factory=list)  # oldest first
    hooks: dict[int, Hook] = field(default_factory=dict)
    reviews: dict[int, Review] = field(default_factory=dict)
    review_comments: dict[int, ReviewComment] = field(default_factory=dict)
    check_suites: dict[int, CheckSuite] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    statuses: list[CommitStatus] = field(default_factory=list)  # oldest first
    permissions: dict[str, Permission] = field(default_factory=dict)  # keyed by lower-cased login
    last_number: int = 0
    parent: str | None = None  # for a fork, the full name of the repository it was forked from

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def permission_of(self, login: str) -> Permission:
        if login.lower() == self.owner.lower():
            return "admin"
        return self.permissions.get(login.lower(), "none" if self.private else "read")

    def can(self, login: str, needed: Permission) -> bool:
        return PERMISSION_RANK[self.permission_of(login)] >= PERMISSION_RANK[needed]


@dataclass(frozen=True)
class AccessRecord:
    """One request to REST or git: who (`credential`, never the token itself) did what, and the answer."""

    method: str
    path: str
    status: int
    credential: str  # "user:LOGIN", "installation-token:SHA256[:12]", "app-jwt", "anonymous"


@dataclass(frozen=True)
class DeliveryRecord:
    """One attempt to deliver a webhook; redeliveries share `guid` and get a new `id`."""

    id: int
    guid: str
    hook_id: int
    repo: str
    event: str
    action: str | None
    url: str
    request_headers: dict[str, str]
    body: bytes
    redelivery: bool
    delivered_at: datetime
    status_code: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    error: str | None = None
    duration_ms: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Store:
    """All mutable state behind one re-entrant lock; REST handlers and the python API share it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}  # keyed by lower-cased login
        self.tokens: dict[str, str] = {}  # token -> lower-cased login
        self.repos: dict[str, Repo] = {}  # keyed by lower-cased "owner/name"
        self._next_id = 1000
        self.clock_offset = timedelta()

    def now(self) -> datetime:
        """The emulator's clock: wall time moved forward by `advance_clock`, in whole seconds."""
        with self.lock:
            return utc_now() + self.clock_offset

    def new_id(self) -> int:
        with self.lock:
            self._next_id += 1
            return self._next_id

    def clear(self) -> None:
        with self.lock:
            self.users.clear()
            self.tokens.clear()
            self.repos.clear()
            self.clock_offset = timedelta()

    def user_for_token(self, token: str) -> User | None:
        with self.lock:
            login = self.tokens.get(token)
            return self.users.get(login) if login else None

    def find_user(self, login: str) -> User | None:
        with self.lock:
            return self.users.get(login.lower())

    def find_repo(self, owner: str, name: str) -> Repo | None:
        with self.lock:
            return self.repos.get(f"{owner}/{name}".lower())
