from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"
    __table_args__ = {"schema": "gateway"}

    token_id: str = Field(primary_key=True)
    name: str
    role: str
    token_sha256: str = Field(unique=True)
    created_at: datetime
    revoked_at: datetime | None = None
    # The projects (lower-cased owner/name) the token may see and act on; None: every project.
    projects: list[str] | None = Field(default=None, sa_column=Column(ARRAY(Text), nullable=True))
