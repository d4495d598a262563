"""The planner's own tables (schema `planner`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Plan(SQLModel, table=True):
    """One planning request per issue; its id is the PlanningWorkflow's id."""

    __tablename__ = "plans"
    __table_args__ = {"schema": "planner"}

    plan_id: str = Field(primary_key=True)
    repo: str = Field(index=True)
    issue: int
    status: str
    created_at: datetime
    updated_at: datetime
