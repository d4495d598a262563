"""The emulated GitHub as one object: state, git repositories, webhooks, and JSON rendering."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from paid_github_emulator import shapes, shapes_issues
from paid_github_emulator.apps import AppRegistry
from paid_github_emulator.errors import not_found
from paid_github_emulator.git_history import GitHistory
from paid_github_emulator.git_repos import GitRepos
from paid_github_emulator.shapes import Json, Urls
from paid_github_emulator.state import (
    AccessRecord,
    Comment,
    Hook,
    Issue,
    IssueEvent,
    Label,
    PullDetails,
    Repo,
    Store,
    User,
)
from paid_github_emulator.webhooks import WebhookDispatcher

TIMELINE_ACTIONS = frozenset({"labeled", "unlabeled", "closed", "reopened"})


class Hub:
    def __init__(self, store: Store, git: GitRepos, webhooks: WebhookDispatcher, urls: Urls) -> None:
        self.store = store
        self.git = git
        self.webhooks = webhooks
        self.urls = urls
        self.apps = AppRegistry()
        self.access_log: list[AccessRecord] = []
        # Told of every moved ref after its webhooks are queued (the test CI listens here).
        self.on_ref_moved: Callable[[Repo, str, str | None], None] | None = None

    def log_access(self, method: str, path: str, status: int, token: str | None) -> None:
        if token is None:
            credential = "anonymous"
        elif (user := self.store.user_for_token(token)) is not None:
            credential = f"user:{user.login}"
        elif token.startswith("ghs_"):
            credential = f"installation-token:{hashlib.sha256(token.encode()).hexdigest()[:12]}"
        else:
            credential = "app-jwt" if token.count(".") == 2 else "unknown"
        with self.store.lock:
            self.access_log.append(AccessRecord(method, path, status, credential))

    # Lookups: private repositories are invisible (404, as on GitHub) to users without access.
    def repo(self, owner: str, name: str, actor: User | None = None) -> Repo:
        repo = self.store.find_repo(owner, name)
        if repo is None or (repo.private and (actor is None or not repo.can(actor.login, "read"))):
            raise not_found()
        return repo

    def user(self, login: str) -> User:
        user = self.store.find_user(login)
        if user is None:
            raise not_found()
        return user

    @staticmethod
    def issue(repo: Repo, number: int) -> Issue:
        item = repo.issues.get(number)
        if item is None:
            raise not_found()
        return item

    @staticmethod
    def pull(repo: Repo, number: int) -> Issue:
        item = repo.issues.get(number)
        if item is None or item.pull is None:
            raise not_found()
        return item

    # Rendering, bound to this emulator's URLs and users.
    def open_issues(self, repo: Repo) -> int:
        return sum(1 for item in repo.issues.values() if item.state == "open")

    def repo_json(self, repo: Repo, *, full: bool = True) -> Json:
        owner = self.store.users[repo.owner.lower()]
        return shapes.repository(self.urls, repo, owner, open_issues=self.open_issues(repo), full=full)

    def user_json(self, user: User) -> Json:
        return shapes.simple_user(self.urls, user)

    def issue_json(self, repo: Repo, item: Issue) -> Json:
        return shapes_issues.issue(self.urls, repo, item, self.store.users)

    def webhook_issue_json(self, repo: Repo, item: Issue) -> Json:
        """The issue as webhook payloads carry it: REST's `closed_by` is not part of it."""
        shape = self.issue_json(repo, item)
        del shape["closed_by"]
        return shape

    def pull_json(self, repo: Repo, item: Issue, *, full: bool = True) -> Json:
        head_repo = repo
        if item.pull is not None and item.pull.head_repo is not None:
            head_repo = self.store.find_repo(*item.pull.head_repo.split("/", 1)) or repo
        return shapes_issues.pull_request(
            self.urls,
            repo,
            item,
            self.store.users,
            open_issues=self.open_issues(repo),
            full=full,
            head_repo=head_repo,
            head_open_issues=self.open_issues(head_repo),
        )

    def label_json(self, repo: Repo, item: Label) -> Json:
        return shapes.label(self.urls, repo, item)

    def comment_json(self, repo: Repo, item: Comment) -> Json:
        return shapes_issues.comment(self.urls, repo, item, self.store.users)

    def hook_json(self, repo: Repo, item: Hook) -> Json:
        return shapes.hook(self.urls, repo, item)

    def refresh_pull(self, repo: Repo, item: Issue) -> None:
        """Re-read head/base shas and diff stats from the bare repo, as pushes may have moved them."""
        pull = item.pull
        if pull is None or pull.merged_at is not None:
            return
        pull.head_sha = self.pull_head_sha(repo, item.number, pull) or pull.head_sha
        pull.base_sha = self.git.branch_sha(repo.owner, repo.name, pull.base_ref) or pull.base_sha
        stats = self.git.diff_stats(repo.owner, repo.name, pull.base_sha, pull.head_sha)
        pull.commits, pull.additions = stats.commits, stats.additions
        pull.deletions, pull.changed_files = stats.deletions, stats.changed_files
        history = GitHistory(self.git, repo.owner, repo.name)
        pull.mergeable = history.merged_tree(pull.base_sha, pull.head_sha) is not None

    def pull_head_sha(self, repo: Repo, number: int, pull: PullDetails) -> str | None:
        """The head branch's commit; a fork's is first copied into `repo` as `refs/pull/{number}/head`."""
        if pull.head_repo is None:
            return self.git.branch_sha(repo.owner, repo.name, pull.head_ref)
        owner, name = pull.head_repo.split("/", 1)
        sha = self.git.branch_sha(owner, name, pull.head_ref)
        if sha is not None:
            source = str(self.git.path(owner, name))
            refspec = f"+refs/heads/{pull.head_ref}:refs/pull/{number}/head"
            self.git.run(repo.owner, repo.name, "fetch", "--quiet", "--no-tags", source, refspec)
        return sha

    def record_issue_event(
        self, repo: Repo, item: Issue, action: str, actor: User, label: Json | None = None
    ) -> None:
        if action not in TIMELINE_ACTIONS:
            return
        now = item.updated_at  # set by the change itself, so the event and the issue agree to the second
        if action == "closed" and item.pull is not None and item.pull.merged_at is not None:
            merged = IssueEvent(
                self.store.new_id(),
                item.number,
                "merged",
                actor.login,
                now,
                commit_id=item.pull.merge_commit_sha,
            )
            repo.issue_events.append(merged)
        name = str(label["name"]) if label else None
        repo.issue_events.append(IssueEvent(self.store.new_id(), item.number, action, actor.login, now, name))

    def issue_event_json(self, repo: Repo, event: IssueEvent, *, with_issue: bool) -> Json:
        shape = shapes_issues.issue_event(self.urls, repo, event, self.store.users)
        if with_issue:
            shape["issue"] = self.issue_json(repo, self.issue(repo, event.issue_number))
        return shape

    def emit(
        self, repo: Repo, event: str, sender: User, payload: dict[str, Any], *, only: Hook | None = None
    ) -> None:
        """Queue one delivery per active hook of `repo` that subscribes to `event` (or to `only`)."""
        body = payload | {"repository": self.repo_json(repo, full=False), "sender": self.user_json(sender)}
        hooks = [only] if only is not None else list(repo.hooks.values())
        for hook in hooks:
            if hook.wants(event):
                self.webhooks.enqueue(hook, repo=repo.full_name, repo_id=repo.id, event=event, payload=body)
        if only is None:
            self._emit_to_apps(repo, event, body)

    def _emit_to_apps(self, repo: Repo, event: str, body: dict[str, Any]) -> None:
        """Each App installed on `repo` and subscribed to `event` gets it too, naming its installation."""
        for app, installation in self.apps.installations_of(repo.id, repo.owner):
            hook = app.hook()
            if hook is not None and event in hook.events:
                lite = {"id": installation.id, "node_id": shapes.node_id("Installation", installation.id)}
                payload = body | {"installation": lite}
                self.webhooks.enqueue(
                    hook, repo=repo.full_name, repo_id=repo.id, event=event, payload=payload, app_id=app.id
                )

    def emit_issue_event(self, repo: Repo, item: Issue, action: str, sender: User, **extra: Any) -> None:
        """`issues` for issues, `pull_request` for pull requests, as GitHub splits them; the actions that
        GitHub's Issue Events API lists are recorded there too, at the same moment."""
        self.record_issue_event(repo, item, action, sender, extra.get("label"))
        if item.pull is not None:
            self.refresh_pull(repo, item)
            payload = {"action": action, "number": item.number, "pull_request": self.pull_json(repo, item)}
            self.emit(repo, "pull_request", sender, payload | extra)
        else:
            payload = {"action": action, "issue": self.webhook_issue_json(repo, item)}
            self.emit(repo, "issues", sender, payload | extra)
