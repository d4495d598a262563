"""Audit records: who changed which prompt runs, when, and what evolution answered. The gateway writes one
for every operator action it forwards to evolution (approve, reject, roll back), whatever the answer, so a
refused or failed attempt is on record too. Rows are only ever inserted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

DETAIL_LIMIT = 500


class AuditRecord(SQLModel, table=True):
    __tablename__ = "audit_records"
    __table_args__ = {"schema": "gateway"}

    record_id: str = Field(primary_key=True)
    occurred_at: datetime = Field(index=True)
    actor: str = Field(description="the API token's name")
    role: str
    action: str = Field(description="e.g. experiment.approve, prompt.rollback")
    target: str = Field(index=True, description="the experiment id, or category:owner/name")
    status: int = Field(description="evolution's HTTP status (502: it did not answer)")
    detail: str


async def record(
    session: AsyncSession, *, actor: str, role: str, action: str, target: str, status: int, detail: str
) -> AuditRecord:
    row = AuditRecord(
        record_id=uuid.uuid4().hex,
        occurred_at=datetime.now(UTC),
        actor=actor,
        role=role,
        action=action,
        target=target,
        status=status,
        detail=detail[:DETAIL_LIMIT],
    )
    session.add(row)
    await session.commit()
    return row


async def records(session: AsyncSession, *, target: str | None, limit: int) -> list[AuditRecord]:
    query = select(AuditRecord).order_by(col(AuditRecord.occurred_at).desc()).limit(limit)
    if target is not None:
        query = query.where(AuditRecord.target == target)
    return list((await session.exec(query)).all())
