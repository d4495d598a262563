"""When a new attempt at an issue may start. One rule for the executor, which starts attempts, and the
gateway, whose retry API answers why not (never a 202 that starts nothing).

An attempt is one AgentExecutionWorkflow, `exec:{owner}/{repo}#{n}:{attempt}`. After any finished
attempt a new request starts the next one, except when the work is done or in review: the last attempt
succeeded and its pull request is open or merged. A success whose pull request was closed unmerged
may be tried again."""

from __future__ import annotations

from enum import StrEnum

import httpx

SUCCEEDED = "succeeded"  # RunOutcome.SUCCEEDED; the gateway knows outcomes only as strings


class PullState(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    CLOSED = "closed"  # closed without merging


async def pull_request_state(client: httpx.AsyncClient, *, owner: str, name: str, number: int) -> PullState:
    """The pull request's present state on GitHub; raises httpx.HTTPStatusError when GitHub refuses."""
    response = await client.get(f"/repos/{owner}/{name}/pulls/{number}")
    response.raise_for_status()
    pull = response.json()
    if pull.get("merged") or pull.get("merged_at"):
        return PullState.MERGED
    return PullState.OPEN if pull.get("state") == "open" else PullState.CLOSED


def refusal_after_success(pull_number: int | None, state: PullState | None) -> str | None:
    """Why no new attempt may follow a successful one; None when one may (its PR closed unmerged)."""
    if pull_number is None or state is PullState.CLOSED:
        return None
    if state is PullState.MERGED:
        return f"its pull request #{pull_number} was merged"
    return f"its pull request #{pull_number} is open; close it to try again"
