"""Polling open pull requests for what the webhook path hears as `pull_request.synchronize`,
`pull_request_review.submitted` and `check_run.completed`, published with the same event ids.

Per open pull request the state keeps the head last seen, the newest review id handled, the check
runs of that head already published, and an ETag per listing, so an unchanged pull request costs no
rate limit (304s are free). A head first seen is a baseline, not a push; reviews and checks finished
before polling began are history. A check that finishes on a head already superseded at the next
poll is not seen (only the current head's checks are listed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from paid_contracts import Event, RepoRef
from paid_contracts.identity import github_second
from paid_github_events import listed_check_run, listed_review, moved_head
from paid_poller.github import PAGE_SIZE, Json, github_failure, read_list
from paid_poller.models import PollState

Publish = Callable[[Event], Awaitable[None]]


async def read_pull_requests(
    client: httpx.AsyncClient, *, repo: RepoRef, path: str, state: PollState, producer: str, publish: Publish
) -> bool:
    """Publishes what changed on open pull requests; returns whether GitHub answered anything new."""
    changed = False
    tracked: dict[str, dict[str, Any]] = {number: dict(seen) for number, seen in state.pulls.items()}
    state.pulls = tracked  # updated in place below, so progress is saved even if the cycle is interrupted
    read = await read_list(
        client,
        f"{path}/pulls",
        etag=state.pulls_etag,
        params={"state": "open"},
        more=lambda page: len(page) == PAGE_SIZE,
    )
    if not read.not_modified:
        changed = True
        tracked = {str(pull["number"]): tracked.get(str(pull["number"]), {}) for pull in read.items}
        state.pulls = tracked
        for pull in read.items:
            seen = tracked[str(pull["number"])]
            moved = moved_head(repo, pull, seen.get("head"), producer=producer)
            if moved is not None:
                await publish(moved)
            if seen.get("head") != pull["head"]["sha"]:
                seen |= {"head": pull["head"]["sha"], "checks_etag": None, "checks_published": []}
        state.pulls_etag = read.etag
    baseline = github_second(state.baseline_at)
    for number, seen in tracked.items():
        changed |= await _reviews(
            client, repo, f"{path}/pulls/{number}/reviews", int(number), seen, baseline, producer, publish
        )
        changed |= await _checks(
            client, repo, f"{path}/commits/{seen['head']}/check-runs", seen, baseline, producer, publish
        )
    return changed


async def _reviews(
    client: httpx.AsyncClient,
    repo: RepoRef,
    path: str,
    number: int,
    seen: dict[str, Any],
    baseline: str,
    producer: str,
    publish: Publish,
) -> bool:
    read = await read_list(
        client, path, etag=seen.get("reviews_etag"), more=lambda page: len(page) == PAGE_SIZE
    )
    if read.not_modified:
        return False
    newest = seen.get("review")
    for review in sorted(read.items, key=lambda r: int(r["id"])):
        if newest is not None and int(review["id"]) <= newest:
            continue
        submitted = review.get("submitted_at")
        if submitted and github_second(str(submitted)) >= baseline:
            event = listed_review(repo, number, review, producer=producer)
            if event is not None:
                await publish(event)
        newest = int(review["id"])
    seen |= {"review": newest, "reviews_etag": read.etag}
    return True


async def _checks(
    client: httpx.AsyncClient,
    repo: RepoRef,
    path: str,
    seen: dict[str, Any],
    baseline: str,
    producer: str,
    publish: Publish,
) -> bool:
    etag = seen.get("checks_etag")
    response = await client.get(
        path, params={"per_page": PAGE_SIZE}, headers={"If-None-Match": etag} if etag else None
    )
    if response.status_code == 304:
        return False
    if response.is_error:
        raise github_failure(response, f"reading {path}")
    published: list[int] = list(seen.get("checks_published") or [])
    runs: list[Json] = response.json().get("check_runs", [])
    for run in sorted(runs, key=lambda r: int(r["id"])):
        completed = run.get("completed_at")
        if int(run["id"]) in published or not completed or github_second(str(completed)) < baseline:
            continue
        event = listed_check_run(repo, run, producer=producer)
        if event is not None:
            await publish(event)
            published.append(int(run["id"]))
    seen |= {"checks_etag": response.headers.get("etag"), "checks_published": published}
    return True
