"""GitHub Apps: apps, their installations, installation tokens and pending manifest codes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from paid_github_emulator.state import Hook

TOKEN_LIFETIME_SECONDS = 3600
MANIFEST_CODE_LIFETIME_SECONDS = 3600
# GitHub accepts an App JWT whose `iat` is up to 60 s ahead of its clock, and an `exp` at most 10 min out.
JWT_CLOCK_SKEW_SECONDS = 60
JWT_MAX_LIFETIME_SECONDS = 600


@dataclass
class App:
    id: int
    slug: str
    name: str
    owner: str  # login
    client_id: str
    client_secret: str
    webhook_secret: str | None
    public_key_pem: str
    bot_login: str
    permissions: dict[str, str]
    events: list[str]
    webhook_url: str | None
    webhook_active: bool
    description: str
    url: str
    created_at: datetime
    hook_id: int

    def hook(self) -> Hook | None:
        """The App's one webhook, for every installed repository; None while it is off."""
        if not self.webhook_active or self.webhook_url is None:
            return None
        created = self.created_at
        return Hook(
            self.hook_id, self.webhook_url, self.webhook_secret, "json", self.events, True, created, created
        )


@dataclass
class Installation:
    id: int
    app_id: int
    account: str  # login
    repository_selection: str  # "all" or "selected"
    repo_ids: set[int]  # the selected repositories (ignored when "all")
    created_at: datetime
    updated_at: datetime
    suspended_at: datetime | None = None
    suspended_by: str | None = None


@dataclass
class InstallationToken:
    token: str
    installation_id: int
    repo_ids: frozenset[int] | None  # None: every repository of the installation
    permissions: dict[str, str]
    expires_at: datetime
    revoked: bool = False


@dataclass(frozen=True)
class ManifestCode:
    code: str
    owner: str
    manifest: dict[str, Any]
    expires_at: datetime


@dataclass
class AppRegistry:
    lock: threading.RLock = field(default_factory=threading.RLock)
    apps: dict[int, App] = field(default_factory=dict)
    installations: dict[int, Installation] = field(default_factory=dict)
    tokens: dict[str, InstallationToken] = field(default_factory=dict)
    manifest_codes: dict[str, ManifestCode] = field(default_factory=dict)
    web_login: str | None = None  # who is "signed in" to the emulated web UI (manifest flow)

    def clear(self) -> None:
        with self.lock:
            self.apps.clear()
            self.installations.clear()
            self.tokens.clear()
            self.manifest_codes.clear()
            self.web_login = None

    def app_by_issuer(self, issuer: object) -> App | None:
        """GitHub accepts the App id (as a number or a string) or the client id as a JWT's `iss`."""
        with self.lock:
            for app in self.apps.values():
                if str(issuer) in (str(app.id), app.client_id):
                    return app
            return None

    def installations_of(self, repo_id: int, owner: str) -> list[tuple[App, Installation]]:
        with self.lock:
            return [
                (self.apps[found.app_id], found)
                for found in self.installations.values()
                if found.suspended_at is None and covers(found, repo_id, owner)
            ]

    def installation_for_repo(self, repo_id: int, owner: str, app_id: int) -> Installation | None:
        with self.lock:
            for found in self.installations.values():
                if found.app_id == app_id and covers(found, repo_id, owner):
                    return found
            return None


def covers(installation: Installation, repo_id: int, owner: str) -> bool:
    if installation.account.lower() != owner.lower():
        return False
    return installation.repository_selection == "all" or repo_id in installation.repo_ids
