"""The activities of a follow-up round: a fresh worktree at the pull request's head (the agent then
runs through the same `run_iteration` as a run, in the same sandbox), the push of its commit onto that
head, the replies in the review threads, and the conversation's one comment on the pull request."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from paid_contracts import FollowUpFinished, IssueRef, follow_up_event_id
from paid_contracts.markers import paid_marker
from paid_executor.activities.deps import PRODUCER, ExecutorDeps
from paid_executor.activities.worktrees import WorktreeActivities, heartbeating
from paid_executor.agents.choice import AgentChoiceError
from paid_executor.host_repository import HostRepository
from paid_executor.project_agents import with_project_agent_now
from paid_executor.repo_config import REGULAR_MODES, RepoConfig, RepoConfigError, load_repo_config
from paid_executor.rounds.params import (
    ConversationCommentInput,
    FollowUpSummaryInput,
    RoundPublished,
    RoundPublishInput,
    RoundWorkspaceInfo,
    RoundWorkspaceInput,
    ThreadRepliesInput,
)
from paid_executor.workspace import GitError
from paid_runtime.github_credentials import GitHubCredential, acting_login
from paid_runtime.github_trust import GitHubUnavailableError, github_client
from paid_runtime.messaging import publish_event


def conversation_marker(number: int) -> str:
    return paid_marker(f"pr-conversation={number}")


def reply_marker(round_key: str, comment_id: int) -> str:
    return paid_marker(f"round={round_key}:reply={comment_id}")


class RoundActivities(WorktreeActivities):
    def __init__(self, deps: ExecutorDeps, *, home_queue: str | None = None) -> None:
        super().__init__(deps, home_queue=home_queue)

    async def _credential(self, issue: IssueRef, number: int) -> GitHubCredential:
        """The conversation's own token for the repository (asked of the minter)."""
        return await self.deps.job_credential(issue.repo.full_name, f"pr:{issue.repo.full_name}#{number}")

    def _client(self, credential: GitHubCredential) -> httpx.AsyncClient:
        return github_client(self.deps.settings.github_api_url, credential.token, timeout=30.0)

    @activity.defn(name="prepare_round_workspace")
    async def prepare_round_workspace(self, request: RoundWorkspaceInput) -> RoundWorkspaceInfo:
        """The pull request's head as the agent's worktree (for a conflict round, the base merged into
        it, with git's markers where they conflict). The configuration comes from the default branch,
        never from the head, which an agent wrote."""
        workspace = self.take_workspace(await with_project_agent_now(self.deps.sessions, request.run))
        issue = request.issue
        try:
            async with heartbeating({"step": "clone"}):
                token = await self.deps.run_token(request.run)
                base = await workspace.attach_base(issue, token=token)
                head = await workspace.host.fetch_head(issue.clone_url, request.branch, token=token)
                merged = await workspace.host.merge_base_into(head, base) if request.merge_base else None
                if merged is not None:  # check_out copies this branch
                    await workspace.host.git("update-ref", "refs/heads/paid-base", merged.commit)
                await workspace.host.check_out(workspace.paths.worktree, request.branch, issue.clone_url)
                await workspace.hide_instructions(head)
                try:  # the agent and model as a run's: the project's, or `.paid.yml`'s where allowed
                    config: RepoConfig | None = (await workspace.configuration(base))[0]
                    error = None
                except (RepoConfigError, AgentChoiceError) as invalid:
                    config, error = None, str(invalid)
        except GitError as failure:
            raise ApplicationError(str(failure), type="CloneFailed") from failure
        return RoundWorkspaceInfo(
            base_sha=merged.commit if merged else head,
            config=config,
            config_error=error,
            task_queue=self.home_queue,
            head_sha=head,
            merged_base_sha=merged.base if merged else "",
            conflicts=merged.conflicts if merged else (),
        )

    @activity.defn(name="publish_round")
    async def publish_round(self, request: RoundPublishInput) -> RoundPublished:
        workspace = self.existing_workspace(request.run)
        host = workspace.host
        async with heartbeating({"step": "push"}):
            try:
                config = load_repo_config(await host.repo_files("refs/paid/base"))
            except RepoConfigError:
                config = RepoConfig()
            imported = await workspace.publishable_change(
                request.checked_commit, request.head_sha, request.message, config
            )
            if refused := (*config.forbidden_matches(list(imported.changed_files)), *imported.refused):
                raise ApplicationError(
                    "Paid refuses to push these changes: " + ", ".join(refused),
                    type="ChangeRefused",
                    non_retryable=True,
                )
            if not imported.changed_files:
                return RoundPublished(head_sha=request.head_sha, changed_files=0)
            commit, lease = imported.commit, request.head_sha
            if request.merge_parents:
                commit = await _resolved_merge(host, imported.commit, request)
                lease = request.merge_parents[0]
            token = await self.deps.run_token(request.run)
            try:
                await host.push_onto(request.clone_url, commit, request.branch, lease, token=token)
                pushed = commit
            except GitError as error:
                # An earlier try of this activity may have pushed the same change before it was lost.
                found = await host.remote_tree_is(request.clone_url, request.branch, commit, token=token)
                if found is None:
                    raise ApplicationError(
                        f"{request.branch} moved since the round started from {lease[:12]}; "
                        f"Paid does not overwrite others' commits ({error})",
                        type="HeadMoved",
                        non_retryable=True,
                    ) from error
                pushed = found
        return RoundPublished(head_sha=pushed, changed_files=len(imported.changed_files))

    @activity.defn(name="reply_in_threads")
    async def reply_in_threads(self, request: ThreadRepliesInput) -> int:
        """One reply per thread, looked for (by its marker) before it is written; answers how many."""
        repo = request.issue.repo
        base = f"/repos/{repo.owner}/{repo.name}/pulls/{request.number}"
        async with self._client(await self._credential(request.issue, request.number)) as github:
            existing = " ".join(str(c.get("body") or "") for c in await _all(github, f"{base}/comments"))
            written = 0
            for thread in request.threads:
                marker = reply_marker(request.round_key, thread.comment_id)
                if marker in existing:
                    continue
                reply = await github.post(
                    f"{base}/comments/{thread.comment_id}/replies",
                    json={"body": f"{request.body}\n\n{marker}"},
                )
                _raise_for(reply, f"replying to review comment {thread.comment_id}")
                written += 1
        return written

    @activity.defn(name="publish_follow_up")
    async def publish_follow_up(self, request: FollowUpSummaryInput) -> None:
        await publish_event(
            self.deps.broker,
            FollowUpFinished(
                event_id=follow_up_event_id(request.workflow_id),
                producer=PRODUCER,
                issue=request.issue,
                pull_request_number=request.number,
                rounds=request.rounds,
                rounds_without_push=request.rounds_without_push,
                ci_stopped=request.ci_stopped,
            ),
        )

    @activity.defn(name="post_conversation_comment")
    async def post_conversation_comment(self, request: ConversationCommentInput) -> int:
        """The conversation's one comment on the pull request, edited in place; only a comment Paid
        itself wrote counts as it (a person can copy the marker into a comment of their own)."""
        repo = request.issue.repo
        marker = conversation_marker(request.number)
        body = f"{request.body}\n\n{marker}"
        credential = await self._credential(request.issue, request.number)
        async with self._client(credential) as github:
            try:
                login = (await acting_login(github, credential)).lower()
            except GitHubUnavailableError as error:
                raise ApplicationError(
                    f"reading Paid's own login: {error}", type="GitHubUnavailable"
                ) from None
            url = f"/repos/{repo.owner}/{repo.name}/issues/{request.number}/comments"
            for comment in await _all(github, url):
                author = str((comment.get("user") or {}).get("login", "")).lower()
                if author == login and marker in str(comment.get("body") or ""):
                    edited = await github.patch(
                        f"/repos/{repo.owner}/{repo.name}/issues/comments/{comment['id']}",
                        json={"body": body},
                    )
                    _raise_for(edited, "updating the conversation's comment")
                    return int(comment["id"])
            created = await github.post(url, json={"body": body})
            _raise_for(created, "writing the conversation's comment")
            return int(created.json()["id"])


CONFLICT_MARKERS = (b"<<<<<<< ", b">>>>>>> ")


async def _resolved_merge(host: HostRepository, imported: str, request: RoundPublishInput) -> str:
    """The agent's resolution as the merge commit of the head and the base, so the pull request
    merges; refused while a conflicted file still holds one of git's markers."""
    entries = await host.entries(imported)
    unresolved = []
    for path in request.conflicts:
        entry = entries.get(path)
        if entry is None or entry.mode not in REGULAR_MODES:
            continue
        content = await host.git("cat-file", "blob", entry.object_id)
        if any(line.startswith(CONFLICT_MARKERS) for line in content.splitlines()):
            unresolved.append(path)
    if unresolved:
        raise ApplicationError(
            "conflict markers are left in " + ", ".join(unresolved) + "; Paid pushes no unresolved merge",
            type="ConflictsLeft",
            non_retryable=True,
        )
    tree = (await host.git("rev-parse", f"{imported}^{{tree}}")).decode().strip()
    return await host.commit_tree(tree, request.merge_parents, request.message)


async def _all(github: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        response = await github.get(url, params={"per_page": 100, "page": page})
        _raise_for(response, f"listing {url}")
        items = response.json()
        found += items
        if len(items) < 100:
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
