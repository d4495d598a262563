"""Writes on GitHub that a retry or a crash may repeat: each looks for its marker before creating."""

from __future__ import annotations

from typing import Any

from githubkit.exception import RequestFailed
from temporalio import activity

from paid_planner.github import GitHubClient, github_failure
from paid_planner.params import CommentInput, CommentResult, LabelChange, SubIssue, SubIssueInput
from paid_planner.texts import comment_marker, sub_issue_body, task_marker

PAGE_SIZE = 100


async def upsert_comment(github: GitHubClient, request: CommentInput) -> CommentResult:
    """Posts the comment once per (plan, key); later calls edit it in place when the text changed."""
    owner, name, number = request.issue.repo.owner, request.issue.repo.name, request.issue.number
    marker = comment_marker(request.plan_id, request.key)
    body = f"{request.body}\n\n{marker}"
    try:
        page = 1
        while True:
            comments: list[Any] = (
                await github.rest.issues.async_list_comments(
                    owner, name, number, per_page=PAGE_SIZE, page=page
                )
            ).parsed_data
            for comment in comments:
                if marker in (comment.body or ""):
                    if comment.body != body:
                        await github.rest.issues.async_update_comment(owner, name, comment.id, body=body)
                    return CommentResult(url=comment.html_url, created=False)
            if len(comments) < PAGE_SIZE:
                break
            page += 1
        created = await github.rest.issues.async_create_comment(owner, name, number, body=body)
    except RequestFailed as error:
        raise github_failure(error, f"commenting ({request.key}) on {request.issue.key}") from error
    return CommentResult(url=created.parsed_data.html_url, created=True)


async def set_label(github: GitHubClient, change: LabelChange) -> None:
    owner, name, number = change.issue.repo.owner, change.issue.repo.name, change.issue.number
    try:
        if change.present:
            await github.rest.issues.async_add_labels(owner, name, number, labels=[change.label])
        else:
            await github.rest.issues.async_remove_label(owner, name, number, change.label)
    except RequestFailed as error:
        if not change.present and error.response.status_code == 404:
            return  # already absent
        raise github_failure(error, f"labelling {change.issue.key}") from error


async def ensure_sub_issue(github: GitHubClient, request: SubIssueInput) -> SubIssue:
    """Finds the task's issue by its marker, or creates it; then links it under the parent, once."""
    owner, name = request.parent.repo.owner, request.parent.repo.name
    marker = task_marker(request.plan_id, request.task.id)
    try:
        _heartbeat("searching")
        found = await _find_issue_with(github, owner, name, marker)
        created = found is None
        if found is None:
            body = sub_issue_body(
                request.task,
                plan_id=request.plan_id,
                parent=request.parent,
                dependency_numbers=request.dependency_numbers,
            )
            issue = (
                await github.rest.issues.async_create(owner, name, title=request.task.title, body=body)
            ).parsed_data
            found = (issue.number, issue.id, issue.html_url)
        number, issue_id, url = found
        _heartbeat("linking")
        children = await _sub_issue_numbers(github, owner, name, request.parent.number)
        if number not in children:
            await github.rest.issues.async_add_sub_issue(
                owner, name, request.parent.number, sub_issue_id=issue_id
            )
    except RequestFailed as error:
        raise github_failure(error, f"creating the sub-issue for task {request.task.id}") from error
    return SubIssue(task_id=request.task.id, number=number, url=url, created=created)


def _heartbeat(step: str) -> None:
    if activity.in_activity():  # so a killed worker's attempt is retried in seconds, not minutes
        activity.heartbeat(step)


async def _find_issue_with(
    github: GitHubClient, owner: str, name: str, marker: str
) -> tuple[int, int, str] | None:
    page = 1
    while True:
        issues: list[Any] = (
            await github.rest.issues.async_list_for_repo(
                owner, name, state="all", sort="created", direction="desc", per_page=PAGE_SIZE, page=page
            )
        ).parsed_data
        for issue in issues:
            if not issue.pull_request and marker in (issue.body or ""):
                return issue.number, issue.id, issue.html_url
        if len(issues) < PAGE_SIZE:
            return None
        page += 1


async def _sub_issue_numbers(github: GitHubClient, owner: str, name: str, parent: int) -> set[int]:
    numbers: set[int] = set()
    page = 1
    while True:
        children: list[Any] = (
            await github.rest.issues.async_list_sub_issues(owner, name, parent, per_page=PAGE_SIZE, page=page)
        ).parsed_data
        numbers.update(child.number for child in children)
        if len(children) < PAGE_SIZE:
            return numbers
        page += 1
