"""The planner's activities: every side effect of PlanningWorkflow, each idempotent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from githubkit.exception import RequestFailed
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from paid_contracts import IssueRef
from paid_planner import repo
from paid_planner.github import GitHubFactory, github_failure
from paid_planner.params import AcknowledgeInput, Acknowledgement, IssueDetails, PlanStatusUpdate

PAGE_SIZE = 100


def ack_marker(plan_id: str) -> str:
    return f"<!-- paid:plan={plan_id}:ack -->"


def acknowledgement_text(request: AcknowledgeInput) -> str:
    return "\n".join(
        [
            f"Paid received a planning request for this issue (label `{request.label}`, "
            f"applied by @{request.actor}).",
            "",
            "Planning, that is decomposing the issue into sub-issues that Paid then builds one by one, "
            "is not implemented in this version of Paid yet: no plan will be posted for this request.",
            "",
            ack_marker(request.plan_id),
        ]
    )


@dataclass(frozen=True)
class PlannerActivities:
    sessions: async_sessionmaker[AsyncSession]
    github: GitHubFactory

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
        try:
            async with self.github() as github:
                response = await github.rest.issues.async_get(issue.repo.owner, issue.repo.name, issue.number)
        except RequestFailed as error:
            raise github_failure(error, f"reading {issue.key}") from error
        found = response.parsed_data
        if found.pull_request:
            raise ApplicationError(f"{issue.key} is a pull request, not an issue", non_retryable=True)
        return IssueDetails(title=found.title, state=found.state, html_url=found.html_url)

    @activity.defn(name="planner.acknowledge_plan_request")
    async def acknowledge_plan_request(self, request: AcknowledgeInput) -> Acknowledgement:
        """Posts one comment per plan: a retry or a replay finds its marker and posts nothing."""
        owner, name, number = request.issue.repo.owner, request.issue.repo.name, request.issue.number
        marker = ack_marker(request.plan_id)
        try:
            async with self.github() as github:
                page = 1
                while True:
                    comments = (
                        await github.rest.issues.async_list_comments(
                            owner, name, number, per_page=PAGE_SIZE, page=page
                        )
                    ).parsed_data
                    for comment in comments:
                        if marker in (comment.body or ""):
                            return Acknowledgement(comment_url=comment.html_url, already_posted=True)
                    if len(comments) < PAGE_SIZE:
                        break
                    page += 1
                created = await github.rest.issues.async_create_comment(
                    owner, name, number, body=acknowledgement_text(request)
                )
        except RequestFailed as error:
            raise github_failure(error, f"acknowledging the plan request on {request.issue.key}") from error
        return Acknowledgement(comment_url=created.parsed_data.html_url, already_posted=False)

    def all(self) -> list[Callable[..., Any]]:
        return [self.save_plan_status, self.fetch_issue, self.acknowledge_plan_request]
