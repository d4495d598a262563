"""The planner's own tables (schema `planner`): plans, their tasks and the tasks' dependencies."""

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
    summary: str | None = None
    prompt_version: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


class PlanTask(SQLModel, table=True):
    __tablename__ = "plan_tasks"
    __table_args__ = {"schema": "planner"}

    plan_id: str = Field(primary_key=True, foreign_key="planner.plans.plan_id")
    task_id: str = Field(primary_key=True)
    position: int
    title: str
    repo: str = Field(index=True)
    issue_number: int = Field(index=True)
    status: str
    pull_request: int | None = None
    updated_at: datetime


class TaskDependency(SQLModel, table=True):
    __tablename__ = "task_dependencies"
    __table_args__ = {"schema": "planner"}

    plan_id: str = Field(primary_key=True)
    task_id: str = Field(primary_key=True)
    depends_on: str = Field(primary_key=True)
