"""The python API of the emulator, used in-process by tests and behind the /_emulator admin API."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from paid_github_emulator import issue_ops, pull_ops, repo_ops
from paid_github_emulator.ci import CIConfig, TestCI
from paid_github_emulator.emulator_apps import EmulatorApps
from paid_github_emulator.errors import not_found
from paid_github_emulator.git_repos import GitRepos
from paid_github_emulator.hub import Hub
from paid_github_emulator.ratelimit import RateLimiter, Usage
from paid_github_emulator.shapes import Json, Urls
from paid_github_emulator.state import AccessRecord, DeliveryRecord, Permission, Repo, Store, User
from paid_github_emulator.webhooks import WebhookDispatcher


class Emulator(EmulatorApps):
    def __init__(self, data_dir: Path | str | None = None, *, webhook_timeout: float = 10.0) -> None:
        self._owned_dir: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._owned_dir = tempfile.TemporaryDirectory(prefix="github-emulator-")
            data_dir = self._owned_dir.name
        self.data_dir = Path(data_dir)
        git = GitRepos(self.data_dir / "repos")
        git.root.mkdir(parents=True, exist_ok=True)
        self.rate_limiter = RateLimiter()
        webhooks = WebhookDispatcher(
            timeout=webhook_timeout,
            on_result=lambda hook_id, status, message: repo_ops.record_hook_result(
                self.hub, hook_id, status, message
            ),
        )
        self.hub = Hub(Store(), git, webhooks, Urls("http://127.0.0.1"))
        self.test_ci = TestCI(self.hub)
        self.hub.on_ref_moved = self.test_ci.pushed

    # Addresses
    @property
    def base_url(self) -> str:
        return self.hub.urls.web

    @property
    def api_url(self) -> str:
        return self.hub.urls.api

    def git_url(self, owner: str, repo: str, token: str | None = None) -> str:
        """Clone URL; with a token it carries `x-access-token:TOKEN@` credentials like a GitHub App's."""
        if token is None:
            return f"{self.base_url}/{owner}/{repo}.git"
        scheme, _, rest = self.base_url.partition("://")
        return f"{scheme}://x-access-token:{quote(token, safe='')}@{rest}/{owner}/{repo}.git"

    # Setup
    def add_user(
        self,
        login: str,
        token: str | None = None,
        *,
        name: str | None = None,
        email: str | None = None,
        site_admin: bool = False,
    ) -> User:
        return repo_ops.add_user(self.hub, login, token, name=name, email=email, site_admin=site_admin)

    def create_repository(
        self,
        owner: str,
        name: str,
        files: dict[str, str] | None = None,
        *,
        default_branch: str = "main",
        private: bool = False,
        description: str | None = None,
    ) -> Json:
        repo = repo_ops.create_repository(
            self.hub,
            owner,
            name,
            files,
            default_branch=default_branch,
            private=private,
            description=description,
        )
        with self.hub.store.lock:
            return self.hub.repo_json(repo)

    def set_permission(self, owner: str, repo: str, login: str, permission: Permission) -> None:
        repo_ops.set_permission(self.hub, self._repo(owner, repo), login, permission)

    def create_hook(
        self,
        owner: str,
        repo: str,
        url: str,
        *,
        secret: str | None = None,
        events: list[str] | None = None,
        content_type: str = "json",
    ) -> Json:
        found = self._repo(owner, repo)
        hook = repo_ops.create_hook(
            self.hub,
            found,
            self.hub.user(found.owner),
            url=url,
            secret=secret,
            content_type=content_type,
            events=events or ["*"],
        )
        with self.hub.store.lock:
            return self.hub.hook_json(found, hook)

    def enable_test_ci(
        self,
        owner: str,
        repo: str,
        command: list[str],
        *,
        name: str = "tests",
        timeout: float = 300.0,
        sandbox: bool = True,
    ) -> None:
        """Run `command` in a sandboxed checkout of every pushed branch head, reported as check run `name`."""
        self.test_ci.configure(self._repo(owner, repo), CIConfig(tuple(command), name, timeout, sandbox))

    def set_hooks_active(self, owner: str, repo: str, active: bool) -> None:
        """Turn every hook of the repository off (no deliveries at all) or on again."""
        found = self._repo(owner, repo)
        with self.hub.store.lock:
            for hook in found.hooks.values():
                hook.active = active

    # Acting as a user: the same code paths as REST, so the same webhooks fire
    def create_issue(
        self,
        owner: str,
        repo: str,
        *,
        title: str,
        as_user: str,
        body: str | None = None,
        labels: list[str] | None = None,
    ) -> Json:
        found = self._repo(owner, repo)
        item = issue_ops.create_issue(
            self.hub, found, self.hub.user(as_user), title=title, body=body, labels=labels
        )
        with self.hub.store.lock:
            return self.hub.issue_json(found, item)

    def add_labels(
        self, owner: str, repo: str, number: int, labels: list[str], *, as_user: str
    ) -> list[Json]:
        found = self._repo(owner, repo)
        added = issue_ops.add_labels(self.hub, found, self.hub.user(as_user), number, labels)
        with self.hub.store.lock:
            return [self.hub.label_json(found, item) for item in added]

    def edit_issue(self, owner: str, repo: str, number: int, *, as_user: str, body: str) -> Json:
        """As REST's PATCH: the issue's author may edit it, anyone else needs triage access."""
        found, user = self._repo(owner, repo), self.hub.user(as_user)
        with self.hub.store.lock:
            author = self.hub.issue(found, number).user.lower() == user.login.lower()
        if not author and not found.can(user.login, "triage"):
            raise PermissionError(f"{as_user} may not edit {owner}/{repo}#{number}")
        item = issue_ops.update_issue(self.hub, found, user, number, body=body)
        with self.hub.store.lock:
            return self.hub.issue_json(found, item)

    def remove_label(self, owner: str, repo: str, number: int, label: str, *, as_user: str) -> None:
        issue_ops.remove_label(self.hub, self._repo(owner, repo), self.hub.user(as_user), number, label)

    def create_comment(self, owner: str, repo: str, number: int, body: str, *, as_user: str) -> Json:
        found = self._repo(owner, repo)
        created = issue_ops.create_comment(self.hub, found, self.hub.user(as_user), number, body)
        with self.hub.store.lock:
            return self.hub.comment_json(found, created)

    def merge_pull(self, owner: str, repo: str, number: int, *, as_user: str) -> Json:
        found = self._repo(owner, repo)
        item = pull_ops.merge_pull(self.hub, found, self.hub.user(as_user), number)
        with self.hub.store.lock:
            return self.hub.pull_json(found, item)

    # Inspection
    def issue(self, owner: str, repo: str, number: int) -> Json:
        found = self._repo(owner, repo)
        with self.hub.store.lock:
            return self.hub.issue_json(found, self.hub.issue(found, number))

    def pulls(self, owner: str, repo: str, *, state: str = "all") -> list[Json]:
        found = self._repo(owner, repo)
        with self.hub.store.lock:
            items = pull_ops.list_pulls(self.hub, found, state=state, direction="asc")
            for item in items:
                self.hub.refresh_pull(found, item)
            return [self.hub.pull_json(found, item) for item in items]

    def comments(self, owner: str, repo: str, number: int) -> list[Json]:
        found = self._repo(owner, repo)
        with self.hub.store.lock:
            item = self.hub.issue(found, number)
            return [self.hub.comment_json(found, found.comments[cid]) for cid in item.comment_ids]

    def issues(self, owner: str, repo: str) -> list[Json]:
        """Every issue (not pull request), oldest first."""
        found = self._repo(owner, repo)
        with self.hub.store.lock:
            items = sorted(found.issues.values(), key=lambda item: item.number)
            return [self.hub.issue_json(found, item) for item in items if item.pull is None]

    def sub_issues(self, owner: str, repo: str, number: int) -> list[Json]:
        found = self._repo(owner, repo)
        with self.hub.store.lock:
            item = self.hub.issue(found, number)
            return [self.hub.issue_json(found, found.issues[n]) for n in item.sub_issues]

    def branch_sha(self, owner: str, repo: str, branch: str) -> str | None:
        found = self._repo(owner, repo)
        return self.hub.git.branch_sha(found.owner, found.name, branch)

    def file_content(self, owner: str, repo: str, path: str, ref: str | None = None) -> str | None:
        found = self._repo(owner, repo)
        return self.hub.git.file_content(found.owner, found.name, ref or found.default_branch, path)

    # Webhook deliveries
    def deliveries(self, *, event: str | None = None, action: str | None = None) -> list[DeliveryRecord]:
        return [
            d
            for d in self.hub.webhooks.deliveries()
            if event in (None, d.event) and action in (None, d.action)
        ]

    def wait_for_deliveries(
        self, count: int, timeout: float = 10.0, *, event: str | None = None, action: str | None = None
    ) -> list[DeliveryRecord]:
        return self.hub.webhooks.wait_for(count, timeout, event=event, action=action)

    def redeliver(self, delivery: int | str) -> str:
        """Re-send a delivery (by record id or X-GitHub-Delivery guid); returns the guid it keeps."""
        return self.hub.webhooks.redeliver(delivery)

    def access_log(self) -> list[AccessRecord]:
        """Every REST and git request so far, oldest first (tokens appear only as a hash prefix)."""
        with self.hub.store.lock:
            return list(self.hub.access_log)

    # Rate limits
    def rate_limit_usage(self, token: str) -> Usage:
        return self.rate_limiter.peek(token)

    def set_rate_limit(self, token: str, *, limit: int, window_seconds: int = 3600) -> None:
        """Enforce `limit` requests per window for this token only (403 with retry-after beyond it)."""
        self.rate_limiter.configure(token, limit=limit, window_seconds=window_seconds)

    def issue_events(self, owner: str, repo: str) -> list[Json]:
        found = self._repo(owner, repo)
        with self.hub.store.lock:
            return [self.hub.issue_event_json(found, event, with_issue=False) for event in found.issue_events]

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward: later changes get later timestamps without sleeping.

        GitHub's timestamps have one-second resolution, so changes within one second look simultaneous.
        """
        with self.hub.store.lock:
            self.hub.store.clock_offset += timedelta(seconds=seconds)

    def reset(self) -> None:
        """Forget all users, repositories, deliveries and counters."""
        with self.hub.store.lock:
            self.hub.store.clear()
            self.hub.access_log.clear()
            self.hub.git.delete_all()
        self.hub.apps.clear()
        self.hub.webhooks.clear()
        self.rate_limiter.reset()
        self.test_ci.configs.clear()

    def _repo(self, owner: str, name: str) -> Repo:
        """The python API sees every repository, private ones included."""
        found = self.hub.store.find_repo(owner, name)
        if found is None:
            raise not_found()
        return found

    def close_data_dir(self) -> None:
        if self._owned_dir is not None:
            self._owned_dir.cleanup()
            self._owned_dir = None
