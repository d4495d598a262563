"""The repository context the model plans from: the issue, the file tree, contributing conventions."""

from __future__ import annotations

import base64

from githubkit.exception import RequestFailed
from temporalio.exceptions import ApplicationError

from paid_contracts import IssueRef
from paid_contracts.pinned import ISSUE_EDITED_ERROR, edited_after_trigger
from paid_planner.github import GitHubClient, github_failure
from paid_planner.params import IssueDetails, PinnedContextInput, RepositoryContext

MAX_TREE = 400
MAX_FILE_CHARS = 12_000
# Files that tell a contributor (human or agent) how the project works, in the order shown.
CONVENTION_FILES = (
    "README.md",
    "README.rst",
    "README",
    "CONTRIBUTING.md",
    ".github/CONTRIBUTING.md",
    "docs/CONTRIBUTING.md",
    "AGENTS.md",
    "CLAUDE.md",
    "CONVENTIONS.md",
    ".github/copilot-instructions.md",
)


async def fetch_issue(github: GitHubClient, issue: IssueRef) -> IssueDetails:
    try:
        response = await github.rest.issues.async_get(issue.repo.owner, issue.repo.name, issue.number)
    except RequestFailed as error:
        raise github_failure(error, f"reading {issue.key}") from error
    found = response.parsed_data
    if found.pull_request:
        raise ApplicationError(f"{issue.key} is a pull request, not an issue", non_retryable=True)
    return IssueDetails(title=found.title, state=found.state, html_url=found.html_url, body=found.body or "")


async def fetch_context(github: GitHubClient, issue: IssueRef) -> RepositoryContext:
    details = await fetch_issue(github, issue)
    owner, name = issue.repo.owner, issue.repo.name
    try:
        repository = (await github.rest.repos.async_get(owner, name)).parsed_data
        branch = repository.default_branch
        tree = (await github.rest.git.async_get_tree(owner, name, branch, recursive="1")).parsed_data
    except RequestFailed as error:
        raise github_failure(error, f"reading the tree of {issue.repo.full_name}") from error
    paths = sorted(entry.path for entry in tree.tree if entry.type == "blob" and entry.path)
    present = {path.lower(): path for path in paths}
    files: dict[str, str] = {}
    for wanted in CONVENTION_FILES:
        path = present.get(wanted.lower())
        if path is None or path in files:
            continue
        text = await _read_file(github, owner, name, path, branch)
        if text is not None:
            files[path] = text[:MAX_FILE_CHARS]
    return RepositoryContext(
        issue=details,
        default_branch=branch,
        tree=tuple(paths[:MAX_TREE]),
        tree_truncated=len(paths) > MAX_TREE or bool(tree.truncated),
        files=files,
    )


async def fetch_pinned_context(github: GitHubClient, request: PinnedContextInput) -> RepositoryContext:
    """The context with the issue's text as labeled; refused (non-retryable) once the live issue differs,
    so an edit made after the label never reaches the model."""
    found = await fetch_context(github, request.issue)
    pinned = request.pinned
    if not pinned.matches(found.issue.title, found.issue.body):
        raise ApplicationError(
            edited_after_trigger(request.label), type=ISSUE_EDITED_ERROR, non_retryable=True
        )
    issue = found.issue.model_copy(update={"title": pinned.title, "body": pinned.body})
    return found.model_copy(update={"issue": issue})


async def _read_file(github: GitHubClient, owner: str, name: str, path: str, ref: str) -> str | None:
    try:
        found = (await github.rest.repos.async_get_content(owner, name, path, ref=ref)).parsed_data
    except RequestFailed as error:
        if error.response.status_code == 404:
            return None
        raise github_failure(error, f"reading {path}") from error
    content = getattr(found, "content", None)
    if not isinstance(content, str):
        return None
    return base64.b64decode(content).decode("utf-8", errors="replace")
