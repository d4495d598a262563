"""Posting review mode's one review on GitHub, once.

The review is named by its marker (the pull request and the head pinned at the trigger); a review
counts as already posted only when Paid's own login wrote it, since anyone can paste a marker into a
review of theirs. The head is checked against the pinned one first: findings about a head that has
moved would sit on the wrong lines, so nothing is posted and the caller is told why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.exceptions import ApplicationError

from paid_executor.review_mode import ReviewFindings, commentable_lines, compose_review, review_marker
from paid_runtime.github_credentials import GitHubCredential, acting_login
from paid_runtime.github_trust import GitHubUnavailableError

PAGE = 100


@dataclass(frozen=True)
class PostedReview:
    review_id: int
    posted: bool  # False: Paid had already posted this review (a redelivery)
    inline_comments: int = 0
    moved_to_body: int = 0


async def post_review(
    github: httpx.AsyncClient,
    *,
    owner: str,
    name: str,
    number: int,
    head_sha: str,
    findings: ReviewFindings,
    credential: GitHubCredential | None = None,
) -> PostedReview:
    """`credential`: `github`'s, which names the login an App's token acts as (None: a personal token,
    whose login `GET /user` answers)."""
    pull_url = f"/repos/{owner}/{name}/pulls/{number}"
    pull = await github.get(pull_url)
    _raise_for(pull, f"reading pull request #{number}")
    current = str(pull.json()["head"]["sha"])
    if current != head_sha:
        raise ApplicationError(
            f"#{number}'s head moved from {head_sha[:12]} to {current[:12]} since the review was asked; "
            "Paid posts no review of a head it did not read",
            type="ReviewHeadMoved",
            non_retryable=True,
        )
    try:
        login = (await acting_login(github, credential)).lower()
    except GitHubUnavailableError as error:
        raise ApplicationError(f"reading Paid's own login: {error}", type="GitHubUnavailable") from None
    marker = review_marker(number, head_sha)
    for existing in await _all(github, f"{pull_url}/reviews"):
        author = str((existing.get("user") or {}).get("login", "")).lower()
        if author == login and marker in str(existing.get("body") or ""):
            return PostedReview(int(existing["id"]), posted=False)
    diff_lines = {
        str(f["filename"]): commentable_lines(str(f.get("patch") or ""))
        for f in await _all(github, f"{pull_url}/files")
    }
    review = compose_review(findings, diff_lines, number=number, head_sha=head_sha)
    created = await github.post(f"{pull_url}/reviews", json=review.payload(head_sha))
    _raise_for(created, f"posting the review of #{number}")
    return PostedReview(
        int(created.json()["id"]),
        posted=True,
        inline_comments=len(review.comments),
        moved_to_body=review.moved_to_body,
    )


async def _all(github: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        response = await github.get(url, params={"per_page": PAGE, "page": page})
        _raise_for(response, f"listing {url}")
        items = response.json()
        found += items
        if len(items) < PAGE:
            return found
        page += 1


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.status_code >= 500 or response.status_code == 429:
        raise ApplicationError(f"{what}: GitHub answered {response.status_code}", type="GitHubUnavailable")
    if response.status_code >= 400:
        raise ApplicationError(
            f"{what}: GitHub answered {response.status_code}: {response.text[:300]}",
            type="GitHubRefused",
            non_retryable=response.status_code not in (401, 403),
        )
