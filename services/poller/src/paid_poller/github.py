"""Conditional reads of a repository's issues: an unchanged repository answers 304 and costs nothing.

GitHub does not count a conditional request answered 304 against the rate limit, so the poller sends
the ETag of its previous read with `If-None-Match` on every poll.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from temporalio.exceptions import ApplicationError

HttpFactory = Callable[[], httpx.AsyncClient]
PAGE_SIZE = 100
RETRYABLE_STATUS = frozenset({408, 409, 429})


def http_factory(api_url: str, token: str) -> HttpFactory:
    def make() -> httpx.AsyncClient:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.AsyncClient(base_url=api_url.rstrip("/"), headers=headers, timeout=30.0)

    return make


@dataclass(frozen=True)
class IssuesRead:
    not_modified: bool
    etag: str | None
    updated_at: dict[str, str]
    """Issue number -> `updated_at`, for each issue (and pull request: GitHub lists them as issues) read."""


async def read_recent_issues(
    client: httpx.AsyncClient, owner: str, name: str, etag: str | None
) -> IssuesRead:
    """The most recently updated issues (one page, newest first), or not_modified when `etag` still holds."""
    response = await client.get(
        f"/repos/{owner}/{name}/issues",
        params={"state": "all", "sort": "updated", "direction": "desc", "per_page": PAGE_SIZE},
        headers={"If-None-Match": etag} if etag else None,
    )
    if response.status_code == 304:
        return IssuesRead(not_modified=True, etag=etag, updated_at={})
    if response.is_error:
        raise github_failure(response, f"listing the issues of {owner}/{name}")
    issues = response.json()
    return IssuesRead(
        not_modified=False,
        etag=response.headers.get("etag"),
        updated_at={str(issue["number"]): str(issue["updated_at"]) for issue in issues},
    )


def github_failure(response: httpx.Response, doing: str) -> ApplicationError:
    """4xx answers are permanent (non-retryable), except rate limits and conflicts."""
    status = response.status_code
    rate_limited = status == 403 and response.headers.get("x-ratelimit-remaining") == "0"
    permanent = 400 <= status < 500 and status not in RETRYABLE_STATUS and not rate_limited
    return ApplicationError(
        f"GitHub answered {status} when {doing}", type="GitHubRequestFailed", non_retryable=permanent
    )
