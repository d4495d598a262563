"""The poller's own tables (schema `poller`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class PolledProject(SQLModel, table=True):
    """What the poller keeps of a project announced by the gateway (the highest version seen)."""

    __tablename__ = "projects"
    __table_args__ = {"schema": "poller"}

    repo: str = Field(primary_key=True, description="lower-cased owner/name")
    owner: str
    name: str
    version: int
    token_ciphertext: str | None = None
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    poll_interval_seconds: float
    polling: str
    allowlist: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    registered_at: datetime


class PollState(SQLModel, table=True):
    """Where the polling of a repository stands: ETags to send next, and cursors.

    `last_event_id`: the newest Issue Events API entry handled (ids only grow). `comments_since`:
    the `updated_at` of the newest comment read, sent as `since` (which GitHub applies as >=), with
    `max_comment_id` to skip comments already handled in that same second. Changes older than
    `baseline_at` (when polling began) are history, not triggers. `pulls`: see `pull_polls`.
    """

    __tablename__ = "poll_state"
    __table_args__ = {"schema": "poller"}

    repo: str = Field(primary_key=True)
    baseline_at: datetime
    events_etag: str | None = None
    last_event_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    comments_etag: str | None = None
    comments_since: str | None = None
    max_comment_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    last_polled_at: datetime
    pulls_etag: str | None = None
    # Open pull request number -> head last seen, newest review id, published check runs, ETags.
    pulls: dict[str, dict[str, Any]] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
