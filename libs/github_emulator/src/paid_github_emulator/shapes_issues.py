"""GitHub's JSON for issues, issue comments and pull requests (fields as api.github.com returns them)."""

from __future__ import annotations

from datetime import datetime

from paid_github_emulator.shapes import Json, Urls, label, node_id, repository, simple_user, timestamp
from paid_github_emulator.state import Comment, Issue, IssueEvent, PullDetails, Repo, User


def author_association(repo: Repo, login: str) -> str:
    if login.lower() == repo.owner.lower():
        return "OWNER"
    return "COLLABORATOR" if login.lower() in repo.permissions else "NONE"


REACTIONS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")


def reactions(url: str, contents: list[str] | None = None) -> Json:
    counts = {name: (contents or []).count(name) for name in REACTIONS}
    return {"url": f"{url}/reactions", "total_count": len(contents or []), **counts}


def reaction(urls: Urls, reaction_id: int, user: User, content: str, at: datetime) -> Json:
    return {
        "id": reaction_id,
        "node_id": node_id("Reaction", reaction_id),
        "user": simple_user(urls, user),
        "content": content,
        "created_at": timestamp(at),
    }


def issue(urls: Urls, repo: Repo, item: Issue, users: dict[str, User]) -> Json:
    api = f"{urls.repo_api(repo)}/issues/{item.number}"
    shape: Json = {
        "url": api,
        "repository_url": urls.repo_api(repo),
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": f"{urls.repo_web(repo)}/{'pull' if item.pull else 'issues'}/{item.number}",
        "id": item.id,
        "node_id": node_id("Issue", item.id),
        "number": item.number,
        "title": item.title,
        "user": simple_user(urls, users[item.user.lower()]),
        "labels": [label(urls, repo, repo.labels[name.lower()]) for name in item.labels],
        "state": item.state,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": len(item.comment_ids),
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "closed_at": timestamp(item.closed_at),
        "author_association": author_association(repo, item.user),
        "active_lock_reason": None,
        "body": item.body,
        "closed_by": simple_user(urls, users[item.closed_by.lower()]) if item.closed_by else None,
        "reactions": reactions(api),
        "timeline_url": f"{api}/timeline",
        "performed_via_github_app": None,
        "state_reason": item.state_reason,
        "draft": False,
    }
    if item.pull:
        web = f"{urls.repo_web(repo)}/pull/{item.number}"
        shape["draft"] = item.pull.draft
        shape["pull_request"] = {
            "url": f"{urls.repo_api(repo)}/pulls/{item.number}",
            "html_url": web,
            "diff_url": f"{web}.diff",
            "patch_url": f"{web}.patch",
            "merged_at": timestamp(item.pull.merged_at),
        }
    return shape


def comment(urls: Urls, repo: Repo, item: Comment, users: dict[str, User]) -> Json:
    api = f"{urls.repo_api(repo)}/issues/comments/{item.id}"
    return {
        "url": api,
        "html_url": f"{urls.repo_web(repo)}/issues/{item.issue_number}#issuecomment-{item.id}",
        "issue_url": f"{urls.repo_api(repo)}/issues/{item.issue_number}",
        "id": item.id,
        "node_id": node_id("IssueComment", item.id),
        "user": simple_user(urls, users[item.user.lower()]),
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "author_association": author_association(repo, item.user),
        "body": item.body,
        "reactions": reactions(api, [content for _, content, _ in item.reactions.values()]),
        "performed_via_github_app": None,
    }


def _branch(urls: Urls, repo: Repo, owner: User, ref: str, sha: str, open_issues: int) -> Json:
    return {
        "label": f"{repo.owner}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": simple_user(urls, owner),
        "repo": repository(urls, repo, owner, open_issues=open_issues, full=False),
    }


def pull_request(
    urls: Urls,
    repo: Repo,
    item: Issue,
    users: dict[str, User],
    *,
    open_issues: int,
    full: bool = True,
    head_repo: Repo | None = None,
    head_open_issues: int = 0,
) -> Json:
    """`head_repo`: the fork the head lives in (`head.repo.fork` true), or None for `repo` itself."""
    pull: PullDetails | None = item.pull
    assert pull is not None
    api = f"{urls.repo_api(repo)}/pulls/{item.number}"
    issue_api = f"{urls.repo_api(repo)}/issues/{item.number}"
    web = f"{urls.repo_web(repo)}/pull/{item.number}"
    owner = users[repo.owner.lower()]
    statuses = f"{urls.repo_api(repo)}/statuses/{pull.head_sha}"
    shape: Json = {
        "url": api,
        "id": pull.id,
        "node_id": node_id("PullRequest", pull.id),
        "html_url": web,
        "diff_url": f"{web}.diff",
        "patch_url": f"{web}.patch",
        "issue_url": issue_api,
        "commits_url": f"{api}/commits",
        "review_comments_url": f"{api}/comments",
        "review_comment_url": f"{urls.repo_api(repo)}/pulls/comments{{/number}}",
        "comments_url": f"{issue_api}/comments",
        "statuses_url": statuses,
        "number": item.number,
        "state": item.state,
        "locked": False,
        "title": item.title,
        "user": simple_user(urls, users[item.user.lower()]),
        "body": item.body,
        "labels": [label(urls, repo, repo.labels[name.lower()]) for name in item.labels],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "closed_at": timestamp(item.closed_at),
        "merged_at": timestamp(pull.merged_at),
        "merge_commit_sha": pull.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": (
            _branch(urls, repo, owner, pull.head_ref, pull.head_sha, open_issues)
            if head_repo is None or head_repo is repo
            else _branch(
                urls,
                head_repo,
                users[head_repo.owner.lower()],
                pull.head_ref,
                pull.head_sha,
                head_open_issues,
            )
        ),
        "base": _branch(urls, repo, owner, pull.base_ref, pull.base_sha, open_issues),
        "_links": {
            "self": {"href": api},
            "html": {"href": web},
            "issue": {"href": issue_api},
            "comments": {"href": f"{issue_api}/comments"},
            "review_comments": {"href": f"{api}/comments"},
            "review_comment": {"href": f"{urls.repo_api(repo)}/pulls/comments{{/number}}"},
            "commits": {"href": f"{api}/commits"},
            "statuses": {"href": statuses},
        },
        "author_association": author_association(repo, item.user),
        "auto_merge": None,
        "draft": pull.draft,
    }
    if full:
        shape |= {
            "merged": pull.merged_at is not None,
            "mergeable": pull.mergeable,
            "rebaseable": pull.mergeable,
            "mergeable_state": {True: "clean", False: "dirty", None: "unknown"}[pull.mergeable],
            "merged_by": simple_user(urls, users[pull.merged_by.lower()]) if pull.merged_by else None,
            "comments": len(item.comment_ids),
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": pull.commits,
            "additions": pull.additions,
            "deletions": pull.deletions,
            "changed_files": pull.changed_files,
        }
    return shape


def issue_event(urls: Urls, repo: Repo, event: IssueEvent, users: dict[str, User]) -> Json:
    """An entry of `GET /repos/{owner}/{repo}/issues/events` (the repository-wide list adds `issue`)."""
    shape: Json = {
        "id": event.id,
        "node_id": node_id(f"{event.event.capitalize()}Event", event.id),
        "url": f"{urls.repo_api(repo)}/issues/events/{event.id}",
        "actor": simple_user(urls, users[event.actor.lower()]),
        "event": event.event,
        "commit_id": event.commit_id,
        "commit_url": f"{urls.repo_api(repo)}/commits/{event.commit_id}" if event.commit_id else None,
        "created_at": timestamp(event.created_at),
        "performed_via_github_app": None,
    }
    if event.event in ("closed", "reopened"):
        shape["state_reason"] = None
    if event.label is not None:
        found = repo.labels.get(event.label.lower())
        shape["label"] = {"name": event.label, "color": found.color if found else "ededed"}
    return shape
