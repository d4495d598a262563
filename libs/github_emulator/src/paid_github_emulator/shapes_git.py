"""GitHub's JSON for commits, branches, refs and changed files (fields as api.github.com returns them)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from paid_github_emulator.git_history import ChangedFile, CommitInfo
from paid_github_emulator.shapes import Json, Urls, node_id, simple_user
from paid_github_emulator.state import Repo, User

NOREPLY = "@users.noreply.localhost"


def iso_utc(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _person(who: tuple[str, str, str]) -> Json:
    name, email, date = who
    return {"name": name, "email": email, "date": iso_utc(date)}


def _account(urls: Urls, users: dict[str, User], email: str) -> Json | None:
    """The GitHub user behind a commit's email (the emulator writes `login@users.noreply.localhost`)."""
    user = users.get(email.removesuffix(NOREPLY).lower()) if email.endswith(NOREPLY) else None
    return simple_user(urls, user) if user else None


def git_commit(urls: Urls, repo: Repo, commit: CommitInfo) -> Json:
    """The Git Data commit (`/git/commits/{sha}`, and `commit` inside a contents write)."""
    api = urls.repo_api(repo)
    return {
        "sha": commit.sha,
        "node_id": node_id("Commit", int(commit.sha[:12], 16)),
        "url": f"{api}/git/commits/{commit.sha}",
        "html_url": f"{urls.repo_web(repo)}/commit/{commit.sha}",
        "author": _person(commit.author),
        "committer": _person(commit.committer),
        "message": commit.message,
        "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
        "parents": [
            {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{urls.repo_web(repo)}/commit/{p}"}
            for p in commit.parents
        ],
        "verification": {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
            "verified_at": None,
        },
    }


def commit(urls: Urls, repo: Repo, item: CommitInfo, users: dict[str, User]) -> Json:
    """A commit as `/commits/{sha}` and `/pulls/{n}/commits` list it."""
    api, web = urls.repo_api(repo), urls.repo_web(repo)
    data = git_commit(urls, repo, item)
    return {
        "sha": item.sha,
        "node_id": data["node_id"],
        "url": f"{api}/commits/{item.sha}",
        "html_url": f"{web}/commit/{item.sha}",
        "comments_url": f"{api}/commits/{item.sha}/comments",
        "commit": {
            "url": data["url"],
            "author": data["author"],
            "committer": data["committer"],
            "message": item.message,
            "tree": data["tree"],
            "comment_count": 0,
            "verification": data["verification"],
        },
        "author": _account(urls, users, item.author[1]),
        "committer": _account(urls, users, item.committer[1]),
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{web}/commit/{p}"} for p in item.parents
        ],
    }


def changed_file(urls: Urls, repo: Repo, head: str, item: ChangedFile) -> Json:
    api, web = urls.repo_api(repo), urls.repo_web(repo)
    shape: Json = {
        "sha": item.sha or "0" * 40,
        "filename": item.path,
        "status": item.status,
        "additions": item.additions,
        "deletions": item.deletions,
        "changes": item.additions + item.deletions,
        "blob_url": f"{web}/blob/{head}/{item.path}",
        "raw_url": f"{web}/raw/{head}/{item.path}",
        "contents_url": f"{api}/contents/{item.path}?ref={head}",
        "patch": item.patch,
    }
    if item.previous_path:
        shape["previous_filename"] = item.previous_path
    return shape


def ref(urls: Urls, repo: Repo, name: str, sha: str) -> Json:
    api = urls.repo_api(repo)
    return {
        "ref": name,
        "node_id": base64.b64encode(f"REF_{repo.id}:{name}".encode()).decode(),
        "url": f"{api}/git/{name}",
        "object": {"sha": sha, "type": "commit", "url": f"{api}/git/commits/{sha}"},
    }


def branch(urls: Urls, repo: Repo, name: str, head: CommitInfo, users: dict[str, User]) -> Json:
    api = urls.repo_api(repo)
    return {
        "name": name,
        "commit": commit(urls, repo, head, users),
        "_links": {"self": f"{api}/branches/{name}", "html": f"{urls.repo_web(repo)}/tree/{name}"},
        "protected": False,
        "protection": {
            "enabled": False,
            "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
        },
        "protection_url": f"{api}/branches/{name}/protection",
    }


def short_branch(urls: Urls, repo: Repo, name: str, sha: str) -> Json:
    return {
        "name": name,
        "commit": {"sha": sha, "url": f"{urls.repo_api(repo)}/commits/{sha}"},
        "protected": False,
    }
