"""The poller's own tables (schema `poller`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class PollState(SQLModel, table=True):
    """What the last poll of a repository saw: the ETag to send next and each issue's `updated_at`."""

    __tablename__ = "poll_state"
    __table_args__ = {"schema": "poller"}

    repo: str = Field(primary_key=True)
    etag: str | None = None
    seen: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    last_polled_at: datetime
