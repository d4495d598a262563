"""Webhooks for a moved ref, whichever way it moved (git push, the refs API, a contents write):
`create`/`delete` for new and removed refs, `push`, and `pull_request.synchronize` for open pull
requests whose head branch moved."""

from __future__ import annotations

from paid_github_emulator.forks import pulls_from_fork
from paid_github_emulator.git_history import CommitInfo, GitHistory
from paid_github_emulator.hub import Hub
from paid_github_emulator.shapes import Json
from paid_github_emulator.shapes_git import iso_utc
from paid_github_emulator.state import Issue, Repo, User

ZERO = "0" * 40
MAX_PUSH_COMMITS = 20


def ref_moved(
    hub: Hub,
    repo: Repo,
    actor: User,
    ref: str,
    *,
    before: str | None,
    after: str | None,
    forced: bool = False,
) -> None:
    """Announce that `ref` went from `before` to `after` (None: did not exist / no longer exists)."""
    kind, short = (
        ("branch", ref.removeprefix("refs/heads/"))
        if ref.startswith("refs/heads/")
        else (
            "tag",
            ref.removeprefix("refs/tags/"),
        )
    )
    meta: Json = {"ref": short, "ref_type": kind, "pusher_type": "user"}
    if before is None:
        meta |= {"master_branch": repo.default_branch, "description": repo.description}
        hub.emit(repo, "create", actor, meta)
    if after is None:
        hub.emit(repo, "delete", actor, meta)
    hub.emit(repo, "push", actor, _push_payload(hub, repo, actor, ref, before, after, forced))
    if kind == "branch" and after is not None and before is not None:
        _synchronize(hub, repo, actor, short, before, after)
    if hub.on_ref_moved is not None:
        hub.on_ref_moved(repo, ref, after)


def _push_payload(
    hub: Hub, repo: Repo, actor: User, ref: str, before: str | None, after: str | None, forced: bool
) -> Json:
    history = GitHistory(hub.git, repo.owner, repo.name)
    commits: list[CommitInfo] = []
    if after is not None:
        since = before or history.resolve(f"refs/heads/{repo.default_branch}")
        if since is not None and since != after:
            commits = history.commits_between(since, after)[-MAX_PUSH_COMMITS:]
    web = hub.urls.repo_web(repo)
    shaped = [_commit(hub, repo, history, item) for item in commits]
    head = _commit(hub, repo, history, history.commit(after)) if after is not None else None
    return {
        "ref": ref,
        "before": before or ZERO,
        "after": after or ZERO,
        "created": before is None,
        "deleted": after is None,
        "forced": forced,
        "base_ref": None,
        "compare": f"{web}/compare/{(before or ZERO)[:12]}...{(after or ZERO)[:12]}",
        "commits": shaped,
        "head_commit": head,
        "pusher": {"name": actor.login, "email": actor.email},
    }


def _commit(hub: Hub, repo: Repo, history: GitHistory, item: CommitInfo) -> Json:
    changes: dict[str, list[str]] = {"added": [], "removed": [], "modified": []}
    words = {"A": "added", "D": "removed"}
    for line in history.git(
        "diff-tree", "--root", "--no-commit-id", "--name-status", "-r", item.sha
    ).splitlines():
        code, _, path = line.partition("\t")
        changes[words.get(code[:1], "modified")].append(path.split("\t")[-1])

    def person(who: tuple[str, str, str]) -> Json:
        shape: Json = {"name": who[0], "email": who[1], "date": iso_utc(who[2])}
        login = who[1].removesuffix("@users.noreply.localhost")
        if login != who[1] and hub.store.find_user(login):
            shape["username"] = login
        return shape

    return {
        "id": item.sha,
        "tree_id": item.tree,
        "distinct": True,
        "message": item.message,
        "timestamp": iso_utc(item.committer[2]),
        "url": f"{hub.urls.repo_web(repo)}/commit/{item.sha}",
        "author": person(item.author),
        "committer": person(item.committer),
        **changes,
    }


def _synchronize(hub: Hub, repo: Repo, actor: User, branch: str, before: str, after: str) -> None:
    own = [
        (repo, item.number)
        for item in sorted(repo.issues.values(), key=lambda i: i.number)
        if item.pull is not None
        and item.state == "open"
        and item.pull.head_ref == branch
        and item.pull.head_repo is None
    ]
    for base, number in own + pulls_from_fork(hub, repo, branch):  # a fork's pushes move its parent's pulls
        _announce_synchronize(hub, base, base.issues[number], actor, before, after)


def _announce_synchronize(hub: Hub, repo: Repo, item: Issue, actor: User, before: str, after: str) -> None:
    hub.refresh_pull(repo, item)
    item.updated_at = hub.store.now()
    payload = {"action": "synchronize", "number": item.number, "before": before, "after": after}
    hub.emit(repo, "pull_request", actor, payload | {"pull_request": hub.pull_json(repo, item)})
