"""The gateway's own tables (schema `gateway`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlalchemy.dialects.postgresql import JSONB
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


class Project(SQLModel, table=True):
    """A registered repository. Tokens and webhook secrets are stored only as Fernet ciphertexts."""

    __tablename__ = "projects"
    __table_args__ = {"schema": "gateway"}

    key: str = Field(primary_key=True, description="lower-cased owner/name")
    owner: str
    name: str
    auth: str
    token_ciphertext: str | None = None
    installation_id: int | None = Field(default=None, sa_type=BigInteger)  # GitHub ids pass 2**31
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    poll_interval_seconds: float
    polling: str
    allowlist: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    webhook_secret_ciphertext: str | None = None
    previous_webhook_secret_ciphertext: str | None = None
    previous_secret_valid_until: datetime | None = None
    app_state: str | None = None  # installed, suspended or uninstalled, for projects of the GitHub App
    attention_reason: str | None = None  # why the project needs a person, e.g. an uninstalled App
    agent: str | None = None  # None: the executor's own setting
    agent_model: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime
