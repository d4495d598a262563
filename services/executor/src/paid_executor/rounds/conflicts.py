"""A base branch that moved under Paid's pull requests, as conflict rounds.

When the default branch moves (a push, or a merged pull request), each open pull request Paid opened
against it is asked whether it still merges; one that does not gets a conflict round, named by the
base commit it conflicts with, so the push and the merge heard for the same commit ask once.

Trust boundary: only pushing to the base (write access) moves it, and no text of the push reaches the
agent: the round's prompt names the conflicting files, and the agent reads the base's and the head's
contents in its sandbox. A pull request that is not Paid's (its branch and its author) gets no round."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from paid_contracts import IssueRef, RepoRef
from paid_executor.rounds.params import RoundRequest
from paid_executor.rounds.triggers import FoundRound, NoRound, get_json, paids_pull
from paid_runtime.github_trust import GitHubUnavailableError

# GitHub computes `mergeable` in the background after the base moves (null until then): asked again
# after these pauses, then left to the event's redelivery.
MERGEABLE_PAUSES = (0.5, 1.0, 2.0, 4.0)


def conflict_change_id(repo: RepoRef, number: int, base_sha: str) -> str:
    return f"github:{repo.full_name.lower()}#{number}:conflicts-with:{base_sha}"


async def _mergeability(github: httpx.AsyncClient, repo: RepoRef, number: int) -> dict[str, Any]:
    url = f"/repos/{repo.owner}/{repo.name}/pulls/{number}"
    for pause in (*MERGEABLE_PAUSES, None):
        pull: dict[str, Any] = await get_json(github, url)
        if pull.get("mergeable") is not None or pull.get("state") != "open":
            return pull
        if pause is None:
            break
        await asyncio.sleep(pause)
    raise GitHubUnavailableError(f"{url}: GitHub has not computed whether it merges yet")


async def conflict_rounds(
    github: httpx.AsyncClient, repo: RepoRef, *, base: str | None, requested_by: str
) -> list[FoundRound] | NoRound:
    """The conflict rounds Paid's open pull requests against `base` (None: the default branch) ask for.
    GitHubUnavailableError when GitHub did not answer, or has not yet computed mergeability."""
    if base is None:
        base = str((await get_json(github, f"/repos/{repo.owner}/{repo.name}"))["default_branch"])
    listed = await get_json(github, f"/repos/{repo.owner}/{repo.name}/pulls?state=open&base={base}")
    found: list[FoundRound] = []
    reasons: list[str] = []
    for item in listed:
        number = int(item["number"])
        pull = await paids_pull(github, repo, number)
        if isinstance(pull, NoRound):
            reasons.append(pull.reason)
            continue
        _, issue_number, branch = pull
        current = await _mergeability(github, repo, number)
        if current.get("state") != "open" or current.get("mergeable") is not False:
            reasons.append(f"#{number} merges into {base}")
            continue
        base_sha = str(current["base"]["sha"])
        request = RoundRequest(
            change_id=conflict_change_id(repo, number, base_sha),
            kind="conflict",
            requested_by=requested_by,
            summary=f"#{number} no longer merges into {base} at {base_sha[:12]}.",
        )
        found.append(
            FoundRound(
                issue=IssueRef(repo=repo, number=issue_number), number=number, branch=branch, request=request
            )
        )
    return found or NoRound("; ".join(reasons) or f"no open pull request against {base}")
