"""What turns a GitHub change into a round, and the trust decision on its text.

Trust boundary: a review starts a round only on a pull request Paid itself opened (its branch
`paid/issue-N`, its author Paid's own login), only when its author has write access (or is on the
executor's `trusted_reviewers`), and only with changes requested. Its inline comments are then
filtered one by one to trusted authors and copied into the round's request, so what the agent later
reads is the text as it was at this moment; an untrusted comment's text goes nowhere."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from paid_contracts import IssueRef, PullRequestReviewed, RepoRef
from paid_contracts.markers import written_by_paid
from paid_contracts.workflow_ids import ConversationSignal, pull_conversation_workflow_id
from paid_executor.rounds.conversation import PullConversationWorkflow
from paid_executor.rounds.params import ConversationInput, ConversationPolicy, ReviewThread, RoundRequest
from paid_runtime.github_credentials import GitHubCredential, acting_login
from paid_runtime.github_trust import GitHubUnavailableError, decide_trust

log = logging.getLogger(__name__)
PAID_BRANCH = re.compile(r"^paid/issue-(\d+)$")


@dataclass(frozen=True)
class NoRound:
    reason: str


@dataclass(frozen=True)
class FoundRound:
    issue: IssueRef
    number: int
    branch: str
    request: RoundRequest


async def get_json(github: httpx.AsyncClient, url: str, *, missing_ok: bool = False) -> Any:
    """The JSON GitHub answers; None for a 404 when `missing_ok`. GitHubUnavailableError otherwise."""
    try:
        response = await github.get(url)
    except httpx.HTTPError as error:
        raise GitHubUnavailableError(f"{url}: {error!r}") from error
    if response.status_code == 404 and missing_ok:
        return None
    if response.status_code != 200:
        raise GitHubUnavailableError(f"{url}: HTTP {response.status_code}")
    return response.json()


class TrustCache:
    """One permission lookup per login and event."""

    def __init__(self, github: httpx.AsyncClient, owner: str, name: str, allowlist: Iterable[str]) -> None:
        self._github, self._owner, self._name = github, owner, name
        self._allowlist = tuple(allowlist)
        self._known: dict[str, bool] = {}

    async def trusted(self, login: str) -> bool:
        key = login.lower()
        if key not in self._known:
            decision = await decide_trust(
                self._github, owner=self._owner, name=self._name, login=login, allowlist=self._allowlist
            )
            self._known[key] = decision.trusted
        return self._known[key]


async def paids_pull(
    github: httpx.AsyncClient, repo: RepoRef, number: int, credential: GitHubCredential | None = None
) -> tuple[dict[str, Any], int, str] | NoRound:
    """The open pull request `number` with the issue it fixes and its branch, when Paid opened it: its
    branch is `paid/issue-N` and its author is Paid's own login (a branch name alone anyone can take).
    `credential`: `github`'s (an App's token knows its login only through the minter), None for a
    personal token."""
    pull = await get_json(github, f"/repos/{repo.owner}/{repo.name}/pulls/{number}", missing_ok=True)
    if pull is None:
        return NoRound(f"#{number} is not a pull request")
    me = await acting_login(github, credential)
    branch = str(pull["head"]["ref"])
    issue_number = PAID_BRANCH.match(branch)
    author = str((pull.get("user") or {}).get("login", ""))
    if issue_number is None or author.lower() != me.lower():
        return NoRound(f"#{number} is not a pull request Paid opened")
    if pull.get("state") != "open":
        return NoRound(f"#{number} is {pull.get('state')}")
    return pull, int(issue_number.group(1)), branch


async def review_round(
    event: PullRequestReviewed,
    github: httpx.AsyncClient,
    *,
    allowlist: Iterable[str],
    credential: GitHubCredential | None = None,
) -> FoundRound | NoRound:
    """The round a submitted review asks for, or why none (`credential`: `github`'s, as for
    `paids_pull`). GitHubUnavailableError when GitHub did not answer: the event is then redelivered
    and decided later."""
    if event.state != "changes_requested":
        return NoRound(f"a review with state {event.state} asks for no round")
    repo = event.repo
    found = await paids_pull(github, repo, event.number, credential)
    if isinstance(found, NoRound):
        return found
    _, issue_number, branch = found
    trust = TrustCache(github, repo.owner, repo.name, allowlist)
    if not await trust.trusted(event.reviewer):
        return NoRound(f"{event.reviewer} may not start rounds (no write access)")
    comments = await get_json(
        github, f"/repos/{repo.owner}/{repo.name}/pulls/{event.number}/reviews/{event.review_id}/comments"
    )
    threads = []
    for comment in comments:
        login = str((comment.get("user") or {}).get("login", ""))
        body = str(comment.get("body") or "")
        if written_by_paid(body) or not await trust.trusted(login):
            continue
        line = comment.get("line") or comment.get("original_line")
        threads.append(
            ReviewThread(
                comment_id=int(comment["id"]),
                author=login,
                path=str(comment.get("path") or ""),
                line=int(line) if line is not None else None,
                diff_hunk=str(comment.get("diff_hunk") or ""),
                body=body,
            )
        )
    return FoundRound(
        issue=IssueRef(repo=repo, number=issue_number),
        number=event.number,
        branch=branch,
        request=RoundRequest(
            change_id=event.event_id,
            kind="review",
            requested_by=event.reviewer,
            summary=event.body,
            threads=tuple(threads),
        ),
    )


async def request_round(
    client: Client, found: FoundRound, *, policy: ConversationPolicy, task_queue: str
) -> str | None:
    """Signals the pull request's conversation (starting it if needed); the conversation dedupes by
    change id. None when the conversation has ended (the pull request closed): no more rounds."""
    workflow_id = pull_conversation_workflow_id(found.issue.repo.full_name, found.number)
    try:
        handle = await client.start_workflow(
            PullConversationWorkflow.run,
            ConversationInput(issue=found.issue, number=found.number, branch=found.branch, policy=policy),
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal=ConversationSignal.ROUND,
            start_signal_args=[found.request],
        )
    except WorkflowAlreadyStartedError:
        log.info("%s has ended; %s starts no round", workflow_id, found.request.change_id)
        return None
    return handle.id
