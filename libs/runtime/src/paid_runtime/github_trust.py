"""Trusted triggers: only people who may write to a repository (or a project's allowlist) start work.

Shared by the gateway (webhooks) and the poller (polling), so both paths decide alike and an untrusted
labeling gets one explanatory comment whichever path saw it first: the comment carries a hidden
marker derived from the trigger's identity, and is only written when no comment has it yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from paid_contracts.markers import PAID_MARKER_PREFIX

WRITE_ROLES = frozenset({"admin", "maintain", "write"})
MARKER_PREFIX = f"{PAID_MARKER_PREFIX}untrusted-trigger "


class GitHubUnavailableError(Exception):
    """GitHub did not answer the question (network error, 5xx, rate limit): decide later, not now."""


@dataclass(frozen=True)
class TrustDecision:
    trusted: bool
    reason: str


async def decide_trust(
    client: httpx.AsyncClient, *, owner: str, name: str, login: str, allowlist: Iterable[str]
) -> TrustDecision:
    """Allowlisted logins are trusted without asking GitHub; otherwise the collaborator permission decides."""
    if login.lower() in {entry.lower() for entry in allowlist}:
        return TrustDecision(True, f"{login} is on the project's allowlist")
    if login.endswith("[bot]"):
        return TrustDecision(False, f"{login} is a bot")
    try:
        response = await client.get(f"/repos/{owner}/{name}/collaborators/{login}/permission")
    except httpx.HTTPError as error:
        raise GitHubUnavailableError(f"permission of {login} on {owner}/{name}: {error!r}") from error
    if response.status_code == 404:  # not a user GitHub knows, or no access to the repository
        return TrustDecision(False, f"{login} has no access to {owner}/{name}")
    if response.status_code != 200:
        raise GitHubUnavailableError(f"permission of {login} on {owner}/{name}: HTTP {response.status_code}")
    body = response.json()
    role = str(body.get("role_name") or body.get("permission") or "none")
    if role in WRITE_ROLES:
        return TrustDecision(True, f"{login} has {role} permission")
    return TrustDecision(False, f"{login} has {role} permission, write is needed")


def refusal_marker(trigger_id: str) -> str:
    return f"{MARKER_PREFIX}{trigger_id} -->"


def refusal_text(login: str, label: str, trigger_id: str) -> str:
    return (
        f"Thanks @{login}! Paid only acts on `{label}` when it is applied by someone with write access "
        "to this repository or on the project's allowlist, so nothing was started. A maintainer can "
        "apply the label to start the work.\n\n" + refusal_marker(trigger_id)
    )


async def comment_once(
    client: httpx.AsyncClient, *, owner: str, name: str, number: int, marker: str, body: str
) -> bool:
    """Writes `body` on the issue unless a comment already carries `marker`; True when it wrote one."""
    url = f"/repos/{owner}/{name}/issues/{number}/comments"
    page = 1
    try:
        while True:
            response = await client.get(url, params={"per_page": 100, "page": page})
            if response.status_code != 200:
                raise GitHubUnavailableError(
                    f"listing comments of {owner}/{name}#{number}: {response.status_code}"
                )
            comments = response.json()
            if any(marker in str(comment.get("body") or "") for comment in comments):
                return False
            if len(comments) < 100:
                break
            page += 1
        created = await client.post(url, json={"body": body})
    except httpx.HTTPError as error:
        raise GitHubUnavailableError(f"commenting on {owner}/{name}#{number}: {error!r}") from error
    if created.status_code != 201:
        raise GitHubUnavailableError(f"commenting on {owner}/{name}#{number}: HTTP {created.status_code}")
    return True


def github_client(api_url: str, token: str, *, timeout: float = 10.0) -> httpx.AsyncClient:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.AsyncClient(base_url=api_url.rstrip("/"), headers=headers, timeout=timeout)
