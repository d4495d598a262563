"""Conditional reads of what changed on a repository: an unchanged repository answers 304 and costs nothing.

GitHub does not count a conditional request answered 304 against the rate limit, so every list is
read with the ETag of its previous read in `If-None-Match`. A response that says the rate limit is
exhausted (403/429 with `x-ratelimit-remaining: 0` or `retry-after`) raises `RateLimitedError` with
the moment to retry, which the workflow turns into a durable timer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

HttpFactory = Callable[[str], httpx.AsyncClient]
"""A client for GitHub's API authenticated with the given token."""
PAGE_SIZE = 100
MAX_PAGES = 10
RETRYABLE_STATUS = frozenset({408, 409, 429})
Json = dict[str, Any]


class RateLimitedError(Exception):
    def __init__(self, reset_at: float) -> None:
        super().__init__(f"GitHub rate limit exhausted until {reset_at:.0f}")
        self.reset_at = reset_at


def rate_limit_reset(response: httpx.Response) -> float | None:
    """When a refused request may be retried, if the refusal is a rate limit; None otherwise."""
    if response.status_code not in (403, 429):
        return None
    retry_after = response.headers.get("retry-after")
    if retry_after and retry_after.isdigit():
        return time.time() + int(retry_after)
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = response.headers.get("x-ratelimit-reset", "")
        return float(reset) if reset.isdigit() else time.time() + 60
    return None


async def _raise_when_rate_limited(response: httpx.Response) -> None:
    reset_at = rate_limit_reset(response)
    if reset_at is not None:
        raise RateLimitedError(reset_at)


def http_factory(api_url: str) -> HttpFactory:
    """One long-lived client per token, so successive polls reuse their connections."""
    clients: dict[str, httpx.AsyncClient] = {}

    def make(token: str) -> httpx.AsyncClient:
        client = clients.get(token)
        if client is None or client.is_closed:
            headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            client = clients[token] = httpx.AsyncClient(
                base_url=api_url.rstrip("/"),
                headers=headers,
                timeout=30.0,
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
                event_hooks={"response": [_raise_when_rate_limited]},
            )
        return client

    return make


@dataclass(frozen=True)
class ListRead:
    not_modified: bool
    etag: str | None
    items: list[Json]
    """Every item of every page read (pages are followed while `more` says so)."""


async def read_list(
    client: httpx.AsyncClient,
    path: str,
    *,
    etag: str | None,
    params: dict[str, str | int] | None = None,
    more: Callable[[list[Json]], bool] = lambda _: True,
) -> ListRead:
    """A conditional read of a paginated list: the first page with `If-None-Match`; further pages while
    `more(page)` holds and GitHub links a next page (at most MAX_PAGES)."""
    response = await client.get(
        path,
        params={"per_page": PAGE_SIZE, **(params or {})},
        headers={"If-None-Match": etag} if etag else None,
    )
    if response.status_code == 304:
        return ListRead(not_modified=True, etag=etag, items=[])
    if response.is_error:
        raise github_failure(response, f"reading {path}")
    first_etag = response.headers.get("etag")
    items: list[Json] = list(response.json())
    page = items
    for _ in range(MAX_PAGES - 1):
        following = response.links.get("next", {}).get("url")
        if not following or not page or not more(page):
            break
        response = await client.get(following)
        if response.is_error:
            raise github_failure(response, f"reading {following}")
        page = list(response.json())
        items += page
    return ListRead(not_modified=False, etag=first_etag, items=items)


async def get_json(client: httpx.AsyncClient, path: str) -> Json:
    response = await client.get(path)
    if response.is_error:
        raise github_failure(response, f"reading {path}")
    found: Json = response.json()
    return found


def github_failure(response: httpx.Response, doing: str) -> ApplicationError:
    """4xx answers are permanent (non-retryable), except conflicts and timeouts."""
    status = response.status_code
    permanent = 400 <= status < 500 and status not in RETRYABLE_STATUS
    return ApplicationError(
        f"GitHub answered {status} when {doing}", type="GitHubRequestFailed", non_retryable=permanent
    )
