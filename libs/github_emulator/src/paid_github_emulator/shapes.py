"""GitHub's JSON for users, repositories, labels and hooks (fields as api.github.com returns them)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from paid_github_emulator.state import Hook, Label, Repo, User

Json = dict[str, Any]


@dataclass(frozen=True)
class Urls:
    """Where the emulator is reachable: `web` for html_urls and git, `api` for REST (GHES layout)."""

    web: str

    @property
    def api(self) -> str:
        return f"{self.web}/api/v3"

    def repo_api(self, repo: Repo) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def repo_web(self, repo: Repo) -> str:
        return f"{self.web}/{repo.full_name}"


def timestamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def node_id(kind: str, id_: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{id_}".encode()).decode()


def simple_user(urls: Urls, user: User) -> Json:
    api = f"{urls.api}/users/{user.login}"
    return {
        "login": user.login,
        "id": user.id,
        "node_id": node_id(user.type, user.id),
        "avatar_url": f"{urls.web}/avatars/{user.login}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{urls.web}/{user.login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": user.type,
        "user_view_type": "public",
        "site_admin": user.site_admin,
    }


PRIVATE_ONLY_FIELDS = frozenset(
    {
        "private_gists",
        "total_private_repos",
        "owned_private_repos",
        "disk_usage",
        "collaborators",
        "two_factor_authentication",
        "plan",
        "notification_email",
    }
)


def private_user(urls: Urls, user: User, owned_repos: int) -> Json:
    return simple_user(urls, user) | {
        "name": user.name,
        "company": None,
        "blog": "",
        "location": None,
        "email": user.email,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "notification_email": user.email,
        "public_repos": owned_repos,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": timestamp(user.created_at),
        "updated_at": timestamp(user.created_at),
        "private_gists": 0,
        "total_private_repos": 0,
        "owned_private_repos": 0,
        "disk_usage": 0,
        "collaborators": 0,
        "two_factor_authentication": False,
        "plan": {"name": "enterprise", "space": 976562499, "collaborators": 0, "private_repos": 9999},
    }


def label(urls: Urls, repo: Repo, item: Label) -> Json:
    return {
        "id": item.id,
        "node_id": node_id("Label", item.id),
        "url": f"{urls.repo_api(repo)}/labels/{item.name}",
        "name": item.name,
        "color": item.color,
        "default": item.default,
        "description": item.description,
        "archived_at": None,
        "archived_by": None,
    }


def repository(urls: Urls, repo: Repo, owner: User, *, open_issues: int, full: bool = True) -> Json:
    api = urls.repo_api(repo)
    web = urls.repo_web(repo)
    host = urls.web.split("://", 1)[-1]
    shape: Json = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": simple_user(urls, owner),
        "html_url": web,
        "description": repo.description,
        "fork": repo.parent is not None,
        "url": api,
        "forks_url": f"{api}/forks",
        "keys_url": f"{api}/keys{{/key_id}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}",
        "teams_url": f"{api}/teams",
        "hooks_url": f"{api}/hooks",
        "issue_events_url": f"{api}/issues/events{{/number}}",
        "events_url": f"{api}/events",
        "assignees_url": f"{api}/assignees{{/user}}",
        "branches_url": f"{api}/branches{{/branch}}",
        "tags_url": f"{api}/tags",
        "blobs_url": f"{api}/git/blobs{{/sha}}",
        "git_tags_url": f"{api}/git/tags{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}",
        "trees_url": f"{api}/git/trees{{/sha}}",
        "statuses_url": f"{api}/statuses/{{sha}}",
        "languages_url": f"{api}/languages",
        "stargazers_url": f"{api}/stargazers",
        "contributors_url": f"{api}/contributors",
        "subscribers_url": f"{api}/subscribers",
        "subscription_url": f"{api}/subscription",
        "commits_url": f"{api}/commits{{/sha}}",
        "git_commits_url": f"{api}/git/commits{{/sha}}",
        "comments_url": f"{api}/comments{{/number}}",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "contents_url": f"{api}/contents/{{+path}}",
        "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "merges_url": f"{api}/merges",
        "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{api}/downloads",
        "issues_url": f"{api}/issues{{/number}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "labels_url": f"{api}/labels{{/name}}",
        "releases_url": f"{api}/releases{{/id}}",
        "deployments_url": f"{api}/deployments",
        "created_at": timestamp(repo.created_at),
        "updated_at": timestamp(repo.updated_at),
        "pushed_at": timestamp(repo.pushed_at),
        "git_url": f"git://{host}/{repo.full_name}.git",
        "ssh_url": f"git@{host}:{repo.full_name}.git",
        "clone_url": f"{web}.git",
        "svn_url": web,
        "mirror_url": None,
        "homepage": None,
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": None,
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 0,
        "archived": False,
        "disabled": False,
        "open_issues_count": open_issues,
        "license": None,
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "custom_properties": {},
        "topics": [],
        "visibility": "private" if repo.private else "public",
        "forks": 0,
        "open_issues": open_issues,
        "watchers": 0,
        "default_branch": repo.default_branch,
    }
    if full:
        shape |= {"network_count": 0, "subscribers_count": 0, "temp_clone_token": None}
    return shape


def hook(urls: Urls, repo: Repo, item: Hook) -> Json:
    api = f"{urls.repo_api(repo)}/hooks/{item.id}"
    config: Json = {"url": item.url, "content_type": item.content_type, "insecure_ssl": "0"}
    if item.secret:
        config["secret"] = "********"  # noqa: S105 - GitHub masks the secret the same way
    return {
        "type": "Repository",
        "id": item.id,
        "name": "web",
        "active": item.active,
        "events": item.events,
        "config": config,
        "updated_at": timestamp(item.updated_at),
        "created_at": timestamp(item.created_at),
        "url": api,
        "test_url": f"{api}/test",
        "ping_url": f"{api}/pings",
        "deliveries_url": f"{api}/deliveries",
        "last_response": {
            "code": item.last_status,
            "status": "active" if item.last_status else "unused",
            "message": item.last_message,
        },
    }


def collaborator_permission(urls: Urls, repo: Repo, user: User) -> Json:
    permission = repo.permission_of(user.login)
    # GitHub's legacy `permission` field folds maintain into write and triage into read.
    legacy = {"maintain": "write", "triage": "read"}.get(permission, permission)
    ranks = ["read", "triage", "write", "maintain", "admin"]
    granted = ranks[: ranks.index(permission) + 1] if permission in ranks else []
    flags = {
        "pull": "read" in granted,
        "triage": "triage" in granted,
        "push": "write" in granted,
        "maintain": "maintain" in granted,
        "admin": "admin" in granted,
    }
    return {
        "permission": legacy,
        "role_name": permission,
        "user": simple_user(urls, user) | {"permissions": flags, "role_name": permission},
    }
