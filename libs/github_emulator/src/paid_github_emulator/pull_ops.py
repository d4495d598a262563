"""Pull requests: issues with a head branch (of the repository or of a fork) and a base branch."""

from __future__ import annotations

import re
from typing import Any

from paid_github_emulator.errors import ApiError, validation_failed
from paid_github_emulator.forks import fork_owned_by
from paid_github_emulator.git_history import GitHistory
from paid_github_emulator.hub import Hub
from paid_github_emulator.issue_ops import UNSET, set_state
from paid_github_emulator.state import Issue, PullDetails, Repo, User


def parse_head(hub: Hub, repo: Repo, head: str) -> tuple[Repo, str]:
    """The repository and branch `branch` or `owner:branch` names: `repo` itself, or `owner`'s fork of it."""
    owner, _, branch = head.rpartition(":")
    if not owner or owner.lower() == repo.owner.lower():
        return repo, branch
    fork = fork_owned_by(hub, repo, owner)
    if fork is None:
        raise validation_failed("PullRequest", "head", "invalid")
    return fork, branch


def create_pull(
    hub: Hub,
    repo: Repo,
    actor: User,
    *,
    title: str,
    head: str,
    base: str,
    body: str | None = None,
    draft: bool = False,
) -> Issue:
    head_repo, branch = parse_head(hub, repo, head)
    from_fork = head_repo.full_name if head_repo is not repo else None
    with hub.store.lock:
        head_sha = hub.git.branch_sha(head_repo.owner, head_repo.name, branch)
        base_sha = hub.git.branch_sha(repo.owner, repo.name, base)
        if head_sha is None:
            raise validation_failed("PullRequest", "head", "invalid")
        if base_sha is None:
            raise validation_failed("PullRequest", "base", "invalid")
        if head_sha == base_sha or (branch == base and from_fork is None):
            raise ApiError(
                422,
                "Validation Failed",
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"No commits between {base} and {branch}",
                    }
                ],
            )
        for other in repo.issues.values():
            if (
                other.pull
                and other.state == "open"
                and other.pull.head_ref == branch
                and other.pull.head_repo == from_fork
                and other.pull.base_ref == base
            ):
                raise ApiError(
                    422,
                    "Validation Failed",
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {head_repo.owner}:{branch}.",
                        }
                    ],
                )
        now = hub.store.now()
        repo.last_number += 1
        item = Issue(
            id=hub.store.new_id(),
            number=repo.last_number,
            title=title,
            body=body,
            user=actor.login,
            created_at=now,
            updated_at=now,
        )
        item.pull = PullDetails(
            id=hub.store.new_id(),
            head_ref=branch,
            base_ref=base,
            head_sha=head_sha,
            base_sha=base_sha,
            draft=draft,
            head_repo=from_fork,
        )
        if from_fork is not None:  # the head's commits, copied into the base as GitHub does
            hub.pull_head_sha(repo, item.number, item.pull)
        repo.issues[item.number] = item
        hub.emit_issue_event(repo, item, "opened", actor)
        return item


def update_pull(
    hub: Hub,
    repo: Repo,
    actor: User,
    number: int,
    *,
    title: str | None = None,
    body: str | None = UNSET,
    state: str | None = None,
    base: str | None = None,
) -> Issue:
    with hub.store.lock:
        item = hub.pull(repo, number)
        pull = item.pull
        assert pull is not None
        changes: dict[str, Any] = {}
        if title is not None and title != item.title:
            changes["title"] = {"from": item.title}
            item.title = title
        if body is not UNSET and body != item.body:
            changes["body"] = {"from": item.body or ""}  # a string in GitHub's payload, even when empty
            item.body = body
        if base is not None and base != pull.base_ref:
            if hub.git.branch_sha(repo.owner, repo.name, base) is None:
                raise validation_failed("PullRequest", "base", "invalid")
            changes["base"] = {"ref": {"from": pull.base_ref}, "sha": {"from": pull.base_sha}}
            pull.base_ref = base
        if changes:
            item.updated_at = hub.store.now()
            hub.emit_issue_event(repo, item, "edited", actor, changes=changes)
        if state is not None and state != item.state:
            set_state(hub, repo, actor, item, state, None)
        return item


def merge_pull(
    hub: Hub,
    repo: Repo,
    actor: User,
    number: int,
    *,
    method: str = "merge",
    commit_title: str | None = None,
    commit_message: str | None = None,
    sha: str | None = None,
) -> Issue:
    """Merge as GitHub does: a merge commit, one squashed commit, or the head's commits rebased on the base;
    the base branch moves to the result, and the pull request is closed."""
    with hub.store.lock:
        item = hub.pull(repo, number)
        pull = item.pull
        assert pull is not None
        if item.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        hub.refresh_pull(repo, item)
        if sha is not None and sha != pull.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        history = GitHistory(hub.git, repo.owner, repo.name)
        base, head = pull.base_sha, pull.head_sha
        if method == "rebase":
            merged_sha = history.rebased(base, head, actor.login)
        else:
            tree = history.merged_tree(base, head)
            if tree is not None:
                squash = method == "squash"
                title, details = _default_message(history, item, squash=squash)
                body = details if commit_message is None else commit_message
                message = f"{commit_title or title}\n\n{body}"
                parents = [base] if squash else [base, head]
                merged_sha = history.commit_tree(tree, parents, message.strip(), actor.login)
            else:
                merged_sha = None
        if merged_sha is None:
            raise ApiError(405, "Pull Request is not mergeable")
        history.set_ref(f"refs/heads/{pull.base_ref}", merged_sha, old=base)
        pull.merge_commit_sha, pull.mergeable = merged_sha, None
        now = hub.store.now()
        pull.merged_at, pull.merged_by = now, actor.login
        item.state, item.closed_at, item.updated_at = "closed", now, now
        hub.emit_issue_event(repo, item, "closed", actor)
        if pull.base_ref == repo.default_branch:
            _close_linked_issues(hub, repo, actor, item)
        return item


# GitHub's closing keywords: merged into the default branch, a pull request closes the issues its
# body names with them (https://docs.github.com/en/issues/tracking-your-work-with-issues/linking-a-pull-request-to-an-issue)
CLOSING = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+#(\d+)\b", re.IGNORECASE)


def _close_linked_issues(hub: Hub, repo: Repo, actor: User, pull: Issue) -> None:
    for number in sorted({int(found) for found in CLOSING.findall(pull.body or "")}):
        linked = repo.issues.get(number)
        if linked is not None and linked.pull is None and linked.state == "open":
            set_state(hub, repo, actor, linked, "closed", "completed")


def _default_message(history: GitHistory, item: Issue, *, squash: bool) -> tuple[str, str]:
    """GitHub's default title and body of a squash commit or a merge commit."""
    pull = item.pull
    assert pull is not None
    if squash:
        commits = history.commits_between(pull.base_sha, pull.head_sha)
        return f"{item.title} (#{item.number})", "\n\n".join(f"* {c.message}" for c in commits)
    return f"Merge pull request #{item.number} from {history.owner}/{pull.head_ref}", item.title


def list_pulls(
    hub: Hub,
    repo: Repo,
    *,
    state: str = "open",
    head: str | None = None,
    base: str | None = None,
    direction: str = "desc",
) -> list[Issue]:
    branch, head_repo = None, None
    if head:
        owner, _, branch = head.rpartition(":")
        if owner and owner.lower() != repo.owner.lower():
            fork = fork_owned_by(hub, repo, owner)
            if fork is None:
                return []
            head_repo = fork.full_name
    found = [
        item
        for item in repo.issues.values()
        if item.pull is not None
        and state in ("all", item.state)
        and branch in (None, item.pull.head_ref)
        and (branch is None or item.pull.head_repo == head_repo)
        and base in (None, item.pull.base_ref)
    ]
    return sorted(found, key=lambda i: i.number, reverse=direction != "asc")
