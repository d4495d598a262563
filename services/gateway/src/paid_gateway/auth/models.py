from __future__ import annotations

from datetime import datetime

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
