"""The emulated GitHub's records of checks: check suites and runs, and commit statuses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class CheckSuite:
    id: int
    head_sha: str
    head_branch: str | None
    app_owner: str  # the emulator stands in one GitHub App per user who writes checks
    created_at: datetime
    updated_at: datetime


@dataclass
class CheckRun:
    id: int
    suite_id: int
    name: str
    head_sha: str
    status: str  # queued, in_progress, completed
    conclusion: str | None
    started_at: datetime
    completed_at: datetime | None
    external_id: str = ""
    details_url: str | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[dict[str, object]] = field(default_factory=list)


@dataclass
class CommitStatus:
    id: int
    sha: str
    state: str  # error, failure, pending, success
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: datetime
