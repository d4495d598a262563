"""The planner's activities: every side effect of PlanningWorkflow, each idempotent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from paid_contracts import Event, IssueRef, PlanCompleted, PlanCreated, PlanNeedsInput, TaskReady
from paid_planner import context, drafting, issue_writes, repo
from paid_planner.drafting import LLMFactory
from paid_planner.github import GitHubFactory
from paid_planner.params import (
    CommentInput,
    CommentResult,
    DraftInput,
    DraftOutcome,
    IssueDetails,
    LabelChange,
    PinnedContextInput,
    PlanStatus,
    PlanStatusUpdate,
    RepositoryContext,
    StorePlanInput,
    SubIssue,
    SubIssueInput,
    TaskStatusUpdate,
)

Publisher = Callable[[Event], Awaitable[Any]]


@dataclass(frozen=True)
class PlannerActivities:
    sessions: async_sessionmaker[AsyncSession]
    github: GitHubFactory
    llm: LLMFactory
    publish: Publisher

    @activity.defn(name="planner.save_plan_status")
    async def save_plan_status(self, update: PlanStatusUpdate) -> None:
        async with self.sessions() as session:
            await repo.save_plan_status(
                session,
                plan_id=update.plan_id,
                repo=update.issue.repo.full_name,
                issue=update.issue.number,
                status=update.status.value,
            )

    @activity.defn(name="planner.fetch_issue")
    async def fetch_issue(self, issue: IssueRef) -> IssueDetails:
        async with self.github(issue.repo, "plan") as github:
            return await context.fetch_issue(github, issue)

    @activity.defn(name="planner.fetch_context")
    async def fetch_context(self, issue: IssueRef) -> RepositoryContext:
        async with self.github(issue.repo, "plan") as github:
            return await context.fetch_context(github, issue)

    @activity.defn(name="planner.fetch_pinned_context")
    async def fetch_pinned_context(self, request: PinnedContextInput) -> RepositoryContext:
        async with self.github(request.issue.repo, "plan") as github:
            return await context.fetch_pinned_context(github, request)

    @activity.defn(name="planner.draft_plan")
    async def draft_plan(self, request: DraftInput) -> DraftOutcome:
        return await drafting.draft_plan(self.llm, request)

    @activity.defn(name="planner.upsert_comment")
    async def upsert_comment(self, request: CommentInput) -> CommentResult:
        async with self.github(request.issue.repo, "issues") as github:
            return await issue_writes.upsert_comment(github, request)

    @activity.defn(name="planner.set_label")
    async def set_label(self, change: LabelChange) -> None:
        async with self.github(change.issue.repo, "issues") as github:
            await issue_writes.set_label(github, change)

    @activity.defn(name="planner.ensure_sub_issue")
    async def ensure_sub_issue(self, request: SubIssueInput) -> SubIssue:
        async with self.github(request.parent.repo, "issues") as github:
            return await issue_writes.ensure_sub_issue(github, request)

    @activity.defn(name="planner.store_plan")
    async def store_plan(self, plan: StorePlanInput) -> None:
        async with self.sessions() as session:
            await repo.store_plan(session, plan=plan, status=PlanStatus.PLANNED.value)

    @activity.defn(name="planner.set_task_status")
    async def set_task_status(self, update: TaskStatusUpdate) -> None:
        async with self.sessions() as session:
            await repo.set_task_status(
                session,
                plan_id=update.plan_id,
                task_id=update.task_id,
                status=update.status.value,
                pull_request=update.pull_request,
            )

    @activity.defn(name="planner.publish_plan_created")
    async def publish_plan_created(self, event: PlanCreated) -> None:
        await self.publish(event)

    @activity.defn(name="planner.publish_task_ready")
    async def publish_task_ready(self, event: TaskReady) -> None:
        await self.publish(event)

    @activity.defn(name="planner.publish_plan_completed")
    async def publish_plan_completed(self, event: PlanCompleted) -> None:
        await self.publish(event)

    @activity.defn(name="planner.publish_plan_needs_input")
    async def publish_plan_needs_input(self, event: PlanNeedsInput) -> None:
        await self.publish(event)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.save_plan_status,
            self.fetch_issue,
            self.fetch_context,
            self.fetch_pinned_context,
            self.draft_plan,
            self.upsert_comment,
            self.set_label,
            self.ensure_sub_issue,
            self.store_plan,
            self.set_task_status,
            self.publish_plan_created,
            self.publish_task_ready,
            self.publish_plan_completed,
            self.publish_plan_needs_input,
        ]
