"""JSON shapes of GitHub Apps, their installations and installation tokens."""

from __future__ import annotations

from paid_github_emulator.apps import App, Installation, InstallationToken
from paid_github_emulator.shapes import Json, Urls, node_id, simple_user, timestamp
from paid_github_emulator.state import Repo, User


def app(urls: Urls, found: App, owner: User, *, installations_count: int) -> Json:
    return {
        "id": found.id,
        "slug": found.slug,
        "node_id": node_id("Integration", found.id),
        "client_id": found.client_id,
        "owner": simple_user(urls, owner),
        "name": found.name,
        "description": found.description,
        "external_url": found.url,
        "html_url": f"{urls.web}/apps/{found.slug}",
        "created_at": timestamp(found.created_at),
        "updated_at": timestamp(found.created_at),
        "permissions": dict(found.permissions),
        "events": list(found.events),
        "installations_count": installations_count,
    }


def installation(
    urls: Urls, found: Installation, found_app: App, account: User, suspender: User | None
) -> Json:
    return {
        "id": found.id,
        "account": simple_user(urls, account),
        "repository_selection": found.repository_selection,
        "access_tokens_url": f"{urls.api}/app/installations/{found.id}/access_tokens",
        "repositories_url": f"{urls.api}/installation/repositories",
        "html_url": f"{urls.web}/settings/installations/{found.id}",
        "app_id": found_app.id,
        "app_slug": found_app.slug,
        "target_id": account.id,
        "target_type": "Organization" if account.type == "Organization" else "User",
        "permissions": dict(found_app.permissions),
        "events": list(found_app.events),
        "created_at": timestamp(found.created_at),
        "updated_at": timestamp(found.updated_at),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": simple_user(urls, suspender) if suspender else None,
        "suspended_at": timestamp(found.suspended_at) if found.suspended_at else None,
    }


def repository_lite(repo: Repo) -> Json:
    """The five fields `installation` and `installation_repositories` deliveries list per repository."""
    return {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
    }


def token(found: InstallationToken, selection: str, repositories: list[Json] | None) -> Json:
    shape: Json = {
        "token": found.token,
        "expires_at": timestamp(found.expires_at),
        "permissions": dict(found.permissions),
        "repository_selection": selection,
    }
    if repositories is not None:
        shape["repositories"] = repositories
    return shape
