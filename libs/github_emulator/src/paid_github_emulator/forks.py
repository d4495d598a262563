"""Forks: a copy of a repository under another account, and pull requests whose head lives there.

As on GitHub, a fork pull request's head commits are copied into the base repository as
`refs/pull/{n}/head`, so its diff, reviews, checks and merge read them there; the head branch itself
stays in the fork, where only the fork's owner (and its collaborators) may push."""

from __future__ import annotations

from paid_github_emulator import repo_ops
from paid_github_emulator.hub import Hub
from paid_github_emulator.state import Repo, User


def fork_repository(hub: Hub, parent: Repo, owner: User, *, name: str | None = None) -> Repo:
    """`owner`'s fork of `parent` (its existing one, as GitHub answers a second fork request)."""
    with hub.store.lock:
        existing = fork_owned_by(hub, parent, owner.login)
        if existing is not None:
            return existing
        fork = repo_ops.create_repository(
            hub,
            owner.login,
            name or parent.name,
            default_branch=parent.default_branch,
            private=parent.private,
            description=parent.description,
        )
        fork.parent = parent.full_name
        source = str(hub.git.path(parent.owner, parent.name))
        hub.git.run(
            fork.owner, fork.name, "fetch", "--quiet", "--no-tags", source, "+refs/heads/*:refs/heads/*"
        )
        return fork


def fork_owned_by(hub: Hub, parent: Repo, login: str) -> Repo | None:
    """The fork of `parent` that `login` owns, if any: what GitHub reads `login:branch` as."""
    for repo in hub.store.repos.values():
        if repo.parent == parent.full_name and repo.owner.lower() == login.lower():
            return repo
    return None


def pulls_from_fork(hub: Hub, fork: Repo, branch: str) -> list[tuple[Repo, int]]:
    """The open pull requests (base repository, number) whose head is `branch` of `fork`."""
    parent = hub.store.find_repo(*fork.parent.split("/", 1)) if fork.parent else None
    if parent is None:
        return []
    return [
        (parent, item.number)
        for item in sorted(parent.issues.values(), key=lambda i: i.number)
        if item.pull is not None
        and item.state == "open"
        and item.pull.head_repo == fork.full_name
        and item.pull.head_ref == branch
    ]
