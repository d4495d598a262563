"""The gateway's own tables (schema `gateway`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class WebhookDelivery(SQLModel, table=True):
    """A webhook delivery whose event was published; outlives JetStream's duplicate window."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = {"schema": "gateway"}

    delivery_id: str = Field(primary_key=True)
    event: str
    action: str | None = None
    repo: str | None = Field(default=None, index=True)
    received_at: datetime
    published_event_id: str
