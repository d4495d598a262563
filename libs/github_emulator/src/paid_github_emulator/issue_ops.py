"""Issues, labels and comments: every change goes through here so REST and admin fire the same webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from paid_github_emulator.errors import ApiError, not_found, validation_failed
from paid_github_emulator.hub import Hub
from paid_github_emulator.state import Comment, Issue, Label, Repo, User

UNSET: Any = object()


def ensure_label(hub: Hub, repo: Repo, name: str) -> Label:
    """GitHub creates labels it does not know when they are put on an issue."""
    existing = repo.labels.get(name.lower())
    if existing:
        return existing
    created = Label(id=hub.store.new_id(), name=name, color="ededed", description=None)
    repo.labels[name.lower()] = created
    return created


def create_label(
    hub: Hub, repo: Repo, actor: User, *, name: str, color: str, description: str | None
) -> Label:
    with hub.store.lock:
        if name.lower() in repo.labels:
            raise validation_failed("Label", "name", "already_exists")
        created = Label(id=hub.store.new_id(), name=name, color=color.lstrip("#"), description=description)
        repo.labels[name.lower()] = created
        hub.emit(repo, "label", actor, {"action": "created", "label": hub.label_json(repo, created)})
        return created


def create_issue(
    hub: Hub, repo: Repo, actor: User, *, title: str, body: str | None = None, labels: list[str] | None = None
) -> Issue:
    if not title.strip():
        raise validation_failed("Issue", "title", "missing_field")
    with hub.store.lock:
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
        repo.issues[item.number] = item
        hub.emit_issue_event(repo, item, "opened", actor)
        if labels:
            add_labels(hub, repo, actor, item.number, labels)
        return item


def add_labels(hub: Hub, repo: Repo, actor: User, number: int, names: list[str]) -> list[Label]:
    """Add labels, one `labeled` event per label that was not on the issue yet."""
    with hub.store.lock:
        item = hub.issue(repo, number)
        for name in names:
            found = ensure_label(hub, repo, name)
            if found.name.lower() in (existing.lower() for existing in item.labels):
                continue
            item.labels.append(found.name)
            item.updated_at = hub.store.now()
            hub.emit_issue_event(repo, item, "labeled", actor, label=hub.label_json(repo, found))
        return [repo.labels[name.lower()] for name in item.labels]


def remove_label(hub: Hub, repo: Repo, actor: User, number: int, name: str) -> list[Label]:
    with hub.store.lock:
        item = hub.issue(repo, number)
        on_issue = [existing for existing in item.labels if existing.lower() == name.lower()]
        if not on_issue:
            raise ApiError(404, "Label does not exist")
        item.labels.remove(on_issue[0])
        item.updated_at = hub.store.now()
        removed = repo.labels[name.lower()]
        hub.emit_issue_event(repo, item, "unlabeled", actor, label=hub.label_json(repo, removed))
        return [repo.labels[label.lower()] for label in item.labels]


def set_labels(hub: Hub, repo: Repo, actor: User, number: int, names: list[str]) -> None:
    with hub.store.lock:
        item = hub.issue(repo, number)
        wanted = {name.lower() for name in names}
        for current in list(item.labels):
            if current.lower() not in wanted:
                remove_label(hub, repo, actor, number, current)
        add_labels(hub, repo, actor, number, names)


def update_issue(
    hub: Hub,
    repo: Repo,
    actor: User,
    number: int,
    *,
    title: str | None = UNSET,
    body: str | None = UNSET,
    state: Literal["open", "closed"] | None = None,
    state_reason: str | None = None,
    labels: list[str] | None = None,
) -> Issue:
    with hub.store.lock:
        item = hub.issue(repo, number)
        changes: dict[str, Any] = {}
        if title is not UNSET and title is not None and title != item.title:
            changes["title"] = {"from": item.title}
            item.title = title
        if body is not UNSET and body != item.body:
            changes["body"] = {"from": item.body or ""}  # a string in GitHub's payload, even when empty
            item.body = body
        if changes:
            item.updated_at = hub.store.now()
            hub.emit_issue_event(repo, item, "edited", actor, changes=changes)
        if labels is not None:
            set_labels(hub, repo, actor, number, labels)
        if state is not None and state != item.state:
            set_state(hub, repo, actor, item, state, state_reason)
        return item


def set_state(hub: Hub, repo: Repo, actor: User, item: Issue, state: str, reason: str | None) -> None:
    now = hub.store.now()
    item.updated_at = now
    if state == "closed":
        item.state, item.closed_at, item.closed_by = "closed", now, actor.login
        item.state_reason = reason or ("completed" if item.pull is None else None)
        hub.emit_issue_event(repo, item, "closed", actor)
    else:
        item.state, item.closed_at, item.closed_by = "open", None, None
        item.state_reason = "reopened" if item.pull is None else None
        hub.emit_issue_event(repo, item, "reopened", actor)


def create_comment(hub: Hub, repo: Repo, actor: User, number: int, body: str) -> Comment:
    if not body:
        raise validation_failed("IssueComment", "body", "missing_field")
    with hub.store.lock:
        item = hub.issue(repo, number)
        now = hub.store.now()
        created = Comment(
            id=hub.store.new_id(),
            issue_number=number,
            body=body,
            user=actor.login,
            created_at=now,
            updated_at=now,
        )
        repo.comments[created.id] = created
        item.comment_ids.append(created.id)
        item.updated_at = now
        _emit_comment(hub, repo, actor, item, created, "created")
        return created


def update_comment(hub: Hub, repo: Repo, actor: User, comment_id: int, body: str) -> Comment:
    with hub.store.lock:
        found = repo.comments.get(comment_id)
        if found is None:
            raise not_found()
        previous = found.body
        found.body, found.updated_at = body, hub.store.now()
        item = hub.issue(repo, found.issue_number)
        _emit_comment(hub, repo, actor, item, found, "edited", changes={"body": {"from": previous}})
        return found


def _emit_comment(
    hub: Hub, repo: Repo, actor: User, item: Issue, found: Comment, action: str, **extra: Any
) -> None:
    payload = {
        "action": action,
        "issue": hub.webhook_issue_json(repo, item),
        "comment": hub.comment_json(repo, found),
    }
    hub.emit(repo, "issue_comment", actor, payload | extra)


def list_issues(
    repo: Repo,
    *,
    state: str = "open",
    labels: list[str] | None = None,
    since: datetime | None = None,
    sort: str = "created",
    direction: str = "desc",
) -> list[Issue]:
    wanted = {name.lower() for name in labels or []}
    found = [
        item
        for item in repo.issues.values()
        if state in ("all", item.state)
        and wanted <= {name.lower() for name in item.labels}
        and (since is None or item.updated_at >= since)
    ]

    def key(item: Issue) -> tuple[float, int]:
        # Ties (same second) are common in tests; the number keeps the order stable as GitHub's ids do.
        if sort == "comments":
            return float(len(item.comment_ids)), item.number
        moment = item.updated_at if sort == "updated" else item.created_at
        return moment.timestamp(), item.number

    return sorted(found, key=key, reverse=direction != "asc")
