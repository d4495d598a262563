"""The planner's data access: keyword-only functions over its own tables, each safe to repeat."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_planner.models import Plan, PlanTask, TaskDependency
from paid_planner.params import StorePlanInput


async def save_plan_status(
    session: AsyncSession, *, plan_id: str, repo: str, issue: int, status: str
) -> None:
    """Creates the plan or moves it to `status`; repeating a call changes nothing more."""
    now = datetime.now(UTC)
    statement = insert(Plan).values(
        plan_id=plan_id, repo=repo, issue=issue, status=status, created_at=now, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["plan_id"],
        set_={"status": statement.excluded.status, "updated_at": statement.excluded.updated_at},
    )
    await session.exec(statement)
    await session.commit()


async def store_plan(session: AsyncSession, *, plan: StorePlanInput, status: str) -> None:
    """Writes the plan, its tasks and dependencies in one transaction; a repeat keeps task statuses."""
    now = datetime.now(UTC)
    details = {
        "summary": plan.summary,
        "prompt_version": plan.prompt_version,
        "model": plan.model,
        "input_tokens": plan.input_tokens,
        "output_tokens": plan.output_tokens,
        "cost_usd": plan.cost_usd,
    }
    upsert = insert(Plan).values(
        plan_id=plan.plan_id,
        repo=plan.issue.repo.full_name,
        issue=plan.issue.number,
        status=status,
        created_at=now,
        updated_at=now,
        **details,
    )
    await session.exec(
        upsert.on_conflict_do_update(
            index_elements=["plan_id"], set_={**details, "status": status, "updated_at": now}
        )
    )
    for task in plan.tasks:
        row = insert(PlanTask).values(
            plan_id=plan.plan_id,
            task_id=task.task_id,
            position=task.position,
            title=task.title,
            repo=plan.issue.repo.full_name,
            issue_number=task.issue_number,
            status="pending",
            updated_at=now,
        )
        await session.exec(row.on_conflict_do_nothing(index_elements=["plan_id", "task_id"]))
        for dependency in task.depends_on:
            edge = insert(TaskDependency).values(
                plan_id=plan.plan_id, task_id=task.task_id, depends_on=dependency
            )
            await session.exec(edge.on_conflict_do_nothing())
    await session.commit()


async def set_task_status(
    session: AsyncSession, *, plan_id: str, task_id: str, status: str, pull_request: int | None
) -> None:
    task = await session.get(PlanTask, (plan_id, task_id))
    if task is None:
        raise LookupError(f"plan {plan_id} has no task {task_id}")
    task.status = status
    task.pull_request = pull_request if pull_request is not None else task.pull_request
    task.updated_at = datetime.now(UTC)
    session.add(task)
    await session.commit()


async def get_plan(session: AsyncSession, *, plan_id: str) -> Plan | None:
    return await session.get(Plan, plan_id)


async def tasks_of(session: AsyncSession, *, plan_id: str) -> Sequence[PlanTask]:
    found = await session.exec(
        select(PlanTask).where(PlanTask.plan_id == plan_id).order_by(col(PlanTask.position))
    )
    return found.all()


async def dependencies_of(session: AsyncSession, *, plan_id: str) -> Sequence[TaskDependency]:
    return (await session.exec(select(TaskDependency).where(TaskDependency.plan_id == plan_id))).all()


async def task_for_issue(session: AsyncSession, *, repo: str, issue_number: int) -> PlanTask | None:
    """The task a sub-issue carries (the newest plan's, should an issue be planned twice)."""
    found = await session.exec(
        select(PlanTask)
        .where(PlanTask.repo == repo, PlanTask.issue_number == issue_number)
        .order_by(col(PlanTask.updated_at).desc())
    )
    return found.first()
