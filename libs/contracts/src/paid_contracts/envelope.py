"""The envelope every Paid event carries: identity, type, version, time, producer, correlation, trace."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class TraceContext(BaseModel):
    """W3C trace context (https://www.w3.org/TR/trace-context/) of the span that produced the event."""

    model_config = ConfigDict(frozen=True)

    traceparent: str | None = None
    tracestate: str | None = None


class Correlation(BaseModel):
    """Ids that tie an event to the project, repository, issue and run it concerns."""

    model_config = ConfigDict(frozen=True)

    project: str | None = None
    repo: str | None = Field(default=None, description="owner/name")
    issue: int | None = None
    run: str | None = None


class Event(BaseModel):
    """Base of every domain event. Subclasses set `type` and may only add fields (additive versioning)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    SUBJECT: ClassVar[str]

    event_id: str = Field(
        default_factory=lambda: str(uuid.uuid4()),
        description="Unique and stable: the Nats-Msg-Id, so a re-published event is dropped as duplicate.",
    )
    type: str
    schema_version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    correlation: Correlation = Field(default_factory=Correlation)
    trace: TraceContext = Field(default_factory=TraceContext)

    @property
    def subject(self) -> str:
        return self.SUBJECT
