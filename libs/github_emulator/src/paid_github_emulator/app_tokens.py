"""Installation tokens: minting them narrowed to repositories and permissions, and enforcing that scope."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import timedelta

from paid_github_emulator import app_ops, shapes_apps
from paid_github_emulator.apps import TOKEN_LIFETIME_SECONDS, App, InstallationToken, covers
from paid_github_emulator.errors import ApiError, forbidden
from paid_github_emulator.hub import Hub
from paid_github_emulator.shapes import Json
from paid_github_emulator.state import Repo, User

NOT_IN_INSTALLATION = (
    "There is at least one repository that does not exist or is not accessible to the parent installation."
)
TOKEN_ALPHABET = string.ascii_letters + string.digits  # as GitHub's: ghs_ and 36 of these
LEVELS = {"read": 1, "write": 2, "admin": 3}

# Which permission a repository route needs, by the first path segment after /repos/{owner}/{repo}.
# Segments anywhere in the path that name checks or statuses win (e.g. /commits/{ref}/check-runs).
PERMISSION_OF_SEGMENT = {
    "issues": "issues",
    "labels": "issues",
    "milestones": "issues",
    "pulls": "pull_requests",
    "contents": "contents",
    "git": "contents",
    "commits": "contents",
    "branches": "contents",
    "compare": "contents",
    "merges": "contents",
    "hooks": "repository_hooks",
    "check-runs": "checks",
    "check-suites": "checks",
    "status": "statuses",
    "statuses": "statuses",
}
OVERRIDING_SEGMENTS = ("check-runs", "check-suites", "status", "statuses")
# GitHub lets either permission act on an issue comment or label of a pull request.
ALTERNATIVES = {"issues": ("issues", "pull_requests")}


@dataclass(frozen=True)
class TokenHolder:
    user: User
    token: InstallationToken


def mint(
    hub: Hub,
    found_app: App,
    installation_id: int,
    *,
    repositories: list[str] | None = None,
    repository_ids: list[int] | None = None,
    permissions: dict[str, str] | None = None,
) -> Json:
    """`POST /app/installations/{id}/access_tokens`: a 1 h token, narrowed if asked."""
    with hub.store.lock, hub.apps.lock:
        found = app_ops.get_installation(hub, installation_id, found_app)
        if found.suspended_at is not None:
            raise forbidden("This installation has been suspended")
        reachable = {repo.name.lower(): repo for repo in app_ops.installation_repos(hub, found)}
        by_id = {repo.id: repo for repo in reachable.values()}
        narrowed: list[Repo] | None = None
        if repositories is not None or repository_ids is not None:
            try:
                narrowed = [reachable[name.split("/")[-1].lower()] for name in repositories or []]
                narrowed += [by_id[repo_id] for repo_id in repository_ids or []]
            except KeyError:
                raise ApiError(422, NOT_IN_INSTALLATION) from None
        granted = dict(found_app.permissions)
        wanted = dict(permissions) if permissions is not None else granted
        for name, level in wanted.items():
            if LEVELS.get(level, 99) > LEVELS.get(granted.get(name, ""), 0):
                raise ApiError(422, "The permissions requested are not granted to this installation.")
        token = InstallationToken(
            token="ghs_" + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(36)),
            installation_id=found.id,
            repo_ids=frozenset(repo.id for repo in narrowed) if narrowed is not None else None,
            permissions=wanted | {"metadata": "read"},
            expires_at=hub.store.now() + timedelta(seconds=TOKEN_LIFETIME_SECONDS),
        )
        hub.apps.tokens[token.token] = token
        selection = "selected" if narrowed is not None else found.repository_selection
        repos = [hub.repo_json(repo) for repo in narrowed] if narrowed is not None else None
        return shapes_apps.token(token, selection, repos)


def holder(hub: Hub, token: str) -> TokenHolder | None:
    """The App's bot acting with `token`, if it is a live installation token (not expired, revoked,
    suspended or uninstalled)."""
    with hub.store.lock, hub.apps.lock:
        found = hub.apps.tokens.get(token)
        if found is None or found.revoked or found.expires_at <= hub.store.now():
            return None
        installation = hub.apps.installations.get(found.installation_id)
        if installation is None or installation.suspended_at is not None:
            return None
        bot = hub.store.find_user(hub.apps.apps[installation.app_id].bot_login)
        return TokenHolder(bot, found) if bot is not None else None


def reaches(hub: Hub, token: InstallationToken, repo: Repo) -> bool:
    with hub.apps.lock:
        installation = hub.apps.installations.get(token.installation_id)
        if installation is None or not covers(installation, repo.id, repo.owner):
            return False
        return token.repo_ids is None or repo.id in token.repo_ids


def has(token: InstallationToken, permission: str, level: str) -> bool:
    names = ALTERNATIVES.get(permission, (permission,))
    return any(LEVELS.get(token.permissions.get(name, ""), 0) >= LEVELS[level] for name in names)


def needed_permission(segments: list[str], method: str) -> tuple[str, str]:
    """(permission, level) a repository route needs; `metadata` read for the repository itself."""
    level = "read" if method in ("GET", "HEAD") else "write"
    for segment in OVERRIDING_SEGMENTS:
        if segment in segments:
            return PERMISSION_OF_SEGMENT[segment], level
    if segments and segments[0] in PERMISSION_OF_SEGMENT:
        return PERMISSION_OF_SEGMENT[segments[0]], level
    return ("metadata", "read") if level == "read" else ("administration", "write")


def enforce(hub: Hub, token: InstallationToken, repo: Repo, segments: list[str], method: str) -> None:
    """404 for a repository outside the token (as GitHub hides it), 403 for a missing permission."""
    if not reaches(hub, token, repo):
        raise ApiError(404, "Not Found")
    permission, level = needed_permission(segments, method)
    if not has(token, permission, level):
        raise forbidden("Resource not accessible by integration")


def revoke(hub: Hub, token: str) -> None:
    with hub.apps.lock:
        found = hub.apps.tokens.get(token)
        if found is not None:
            found.revoked = True
