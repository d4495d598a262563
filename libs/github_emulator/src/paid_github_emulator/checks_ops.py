"""Check runs, check suites and commit statuses on commits, with their webhooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from paid_github_emulator import shapes_checks
from paid_github_emulator.check_records import CheckRun, CheckSuite, CommitStatus
from paid_github_emulator.errors import not_found, validation_failed
from paid_github_emulator.git_history import GitHistory
from paid_github_emulator.hub import Hub
from paid_github_emulator.shapes import Json, timestamp
from paid_github_emulator.shapes_git import commit as commit_json
from paid_github_emulator.shapes_git import short_branch
from paid_github_emulator.state import Issue, Repo, User

STATUS_STATES = frozenset({"error", "failure", "pending", "success"})
CONCLUSIONS = frozenset(shapes_checks.RANKED)
LEVELS = frozenset({"notice", "warning", "failure"})


@dataclass
class CheckChange:
    """The fields a create or an update may set; None leaves a field as it is."""

    status: str | None = None
    conclusion: str | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    details_url: str | None = None
    external_id: str | None = None
    completed_at: datetime | None = None


def pulls_for(repo: Repo, sha: str) -> list[Issue]:
    return [i for i in repo.issues.values() if i.pull and i.state == "open" and i.pull.head_sha == sha]


def run_json(hub: Hub, repo: Repo, run: CheckRun) -> Json:
    suite = repo.check_suites[run.suite_id]
    owner = hub.user(suite.app_owner)
    return shapes_checks.check_run(hub.urls, repo, run, suite, owner, pulls_for(repo, run.head_sha))


def suite_json(hub: Hub, repo: Repo, suite: CheckSuite) -> Json:
    runs = [r for r in repo.check_runs.values() if r.suite_id == suite.id]
    owner = hub.user(suite.app_owner)
    return shapes_checks.check_suite(hub.urls, repo, suite, runs, owner, pulls_for(repo, suite.head_sha))


def _validate(change: CheckChange) -> None:
    if change.status not in (None, "queued", "in_progress", "completed"):
        raise validation_failed("CheckRun", "status", "invalid")
    if change.conclusion is not None and change.conclusion not in CONCLUSIONS:
        raise validation_failed("CheckRun", "conclusion", "invalid")
    if change.status == "completed" and change.conclusion is None:
        raise validation_failed(
            "CheckRun", "conclusion", "missing_field", "conclusion is required when completed"
        )
    for item in change.annotations:
        if (
            item.get("annotation_level") not in LEVELS
            or not {"path", "start_line", "end_line", "message"} <= item.keys()
        ):
            raise validation_failed("CheckRun", "annotations", "invalid")


def create_check_run(
    hub: Hub, repo: Repo, actor: User, *, name: str, head_sha: str, change: CheckChange
) -> CheckRun:
    _validate(change)
    with hub.store.lock:
        history = GitHistory(hub.git, repo.owner, repo.name)
        if history.resolve(head_sha) != head_sha:
            raise validation_failed("CheckRun", "head_sha", "invalid", "No commit found for SHA")
        now = hub.store.now()
        suite = next(
            (
                s
                for s in repo.check_suites.values()
                if s.head_sha == head_sha and s.app_owner == actor.login.lower()
            ),
            None,
        )
        if suite is None:
            branch = next((p.pull.head_ref for p in pulls_for(repo, head_sha) if p.pull), None)
            suite = CheckSuite(hub.store.new_id(), head_sha, branch, actor.login.lower(), now, now)
            repo.check_suites[suite.id] = suite
        run = CheckRun(hub.store.new_id(), suite.id, name, head_sha, "queued", None, now, None)
        repo.check_runs[run.id] = run
        _apply(hub, run, change)
        _emit_run(hub, repo, actor, run, "created")
        if run.status == "completed":
            _completed(hub, repo, actor, run)
        return run


def update_check_run(hub: Hub, repo: Repo, actor: User, run_id: int, change: CheckChange) -> CheckRun:
    _validate(change)
    with hub.store.lock:
        run = repo.check_runs.get(run_id)
        if run is None or repo.check_suites[run.suite_id].app_owner != actor.login.lower():
            raise not_found()
        was_completed = run.status == "completed"
        _apply(hub, run, change)
        if run.status == "completed" and not was_completed:
            _completed(hub, repo, actor, run)
        return run


def _apply(hub: Hub, run: CheckRun, change: CheckChange) -> None:
    if change.conclusion is not None:
        run.status, run.conclusion = "completed", change.conclusion
    elif change.status is not None:
        run.status = change.status
    if run.status == "completed" and run.completed_at is None:
        run.completed_at = change.completed_at or hub.store.now()
    for name in ("title", "summary", "text", "details_url", "external_id"):
        if (value := getattr(change, name)) is not None:
            setattr(run, name, value)
    run.annotations.extend(change.annotations)  # GitHub appends annotations sent by each update


def _completed(hub: Hub, repo: Repo, actor: User, run: CheckRun) -> None:
    _emit_run(hub, repo, actor, run, "completed")
    suite = repo.check_suites[run.suite_id]
    suite.updated_at = hub.store.now()
    runs = [r for r in repo.check_runs.values() if r.suite_id == suite.id]
    if all(r.status == "completed" for r in runs):
        payload = {"action": "completed", "check_suite": _webhook_suite(hub, repo, suite)}
        hub.emit(repo, "check_suite", actor, payload)


def _webhook_suite(hub: Hub, repo: Repo, suite: CheckSuite) -> Json:
    shape = suite_json(hub, repo, suite)
    head = GitHistory(hub.git, repo.owner, repo.name).commit(suite.head_sha)
    shape["head_commit"] = {
        "id": head.sha,
        "tree_id": head.tree,
        "message": head.message,
        "timestamp": commit_json(hub.urls, repo, head, hub.store.users)["commit"]["committer"]["date"],
        "author": {"name": head.author[0], "email": head.author[1]},
        "committer": {"name": head.committer[0], "email": head.committer[1]},
    }
    return shape


def _emit_run(hub: Hub, repo: Repo, actor: User, run: CheckRun, action: str) -> None:
    shape = run_json(hub, repo, run)
    suite = suite_json(hub, repo, repo.check_suites[run.suite_id])
    shape["check_suite"] = {
        k: v for k, v in suite.items() if k not in ("latest_check_runs_count", "check_runs_url")
    }
    hub.emit(repo, "check_run", actor, {"action": action, "check_run": shape})


def create_status(
    hub: Hub,
    repo: Repo,
    actor: User,
    sha: str,
    *,
    state: str,
    context: str,
    description: str | None,
    target_url: str | None,
) -> CommitStatus:
    if state not in STATUS_STATES:
        raise validation_failed("Status", "state", "invalid")
    with hub.store.lock:
        history = GitHistory(hub.git, repo.owner, repo.name)
        if history.resolve(sha) != sha:
            raise validation_failed("Status", "sha", "invalid", "No commit found for SHA")
        item = CommitStatus(
            hub.store.new_id(), sha, state, context, description, target_url, actor.login, hub.store.now()
        )
        repo.statuses.append(item)
        commit = commit_json(hub.urls, repo, history.commit(sha), hub.store.users)
        commit["commit"]["verification"].pop("verified_at")  # not part of the status event's commit
        branches = [
            short_branch(hub.urls, repo, ref.removeprefix("refs/heads/"), head)
            for ref, head in sorted(history.refs().items())
            if ref.startswith("refs/heads/") and history.is_ancestor(sha, head)
        ][:10]
        payload = {
            "id": item.id,
            "sha": sha,
            "name": repo.full_name,
            "target_url": target_url,
            "context": context,
            "description": description,
            "state": state,
            "commit": commit,
            "branches": branches,
            "created_at": timestamp(item.created_at),
            "updated_at": timestamp(item.created_at),
        }
        hub.emit(repo, "status", actor, payload)
        return item


def latest_statuses(repo: Repo, sha: str) -> list[CommitStatus]:
    """The newest status of each context, as the combined status reports them."""
    latest: dict[str, CommitStatus] = {}
    for item in repo.statuses:
        if item.sha == sha:
            latest[item.context] = item
    return list(latest.values())
