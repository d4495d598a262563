"""GitHub's JSON for pull request reviews and review comments (REST and webhook differ in `state` case)."""

from __future__ import annotations

from paid_github_emulator.shapes import Json, Urls, node_id, simple_user, timestamp
from paid_github_emulator.shapes_issues import author_association, reactions
from paid_github_emulator.state import Repo, Review, ReviewComment, User


def review(urls: Urls, repo: Repo, item: Review, users: dict[str, User], *, webhook: bool = False) -> Json:
    pull_api = f"{urls.repo_api(repo)}/pulls/{item.pull_number}"
    html = f"{urls.repo_web(repo)}/pull/{item.pull_number}#pullrequestreview-{item.id}"
    shape: Json = {
        "id": item.id,
        "node_id": node_id("PullRequestReview", item.id),
        "user": simple_user(urls, users[item.user.lower()]),
        "body": item.body,
        "commit_id": item.commit_id,
        "submitted_at": timestamp(item.submitted_at),
        # GitHub's REST API says APPROVED; its webhooks say approved.
        "state": item.state.lower() if webhook else item.state,
        "html_url": html,
        "pull_request_url": pull_api,
        "author_association": author_association(repo, item.user),
        "_links": {"html": {"href": html}, "pull_request": {"href": pull_api}},
    }
    if item.submitted_at is None:
        del shape["submitted_at"]  # a pending review has not been submitted
    return shape


def review_comment(urls: Urls, repo: Repo, item: ReviewComment, users: dict[str, User]) -> Json:
    api = f"{urls.repo_api(repo)}/pulls/comments/{item.id}"
    pull_api = f"{urls.repo_api(repo)}/pulls/{item.pull_number}"
    html = f"{urls.repo_web(repo)}/pull/{item.pull_number}#discussion_r{item.id}"
    shape: Json = {
        "url": api,
        "pull_request_review_id": item.review_id,
        "id": item.id,
        "node_id": node_id("PullRequestReviewComment", item.id),
        "diff_hunk": item.diff_hunk,
        "path": item.path,
        "position": 1,
        "original_position": 1,
        "commit_id": item.commit_id,
        "original_commit_id": item.commit_id,
        "user": simple_user(urls, users[item.user.lower()]),
        "body": item.body,
        "created_at": timestamp(item.created_at),
        "updated_at": timestamp(item.updated_at),
        "html_url": html,
        "pull_request_url": pull_api,
        "author_association": author_association(repo, item.user),
        "_links": {"self": {"href": api}, "html": {"href": html}, "pull_request": {"href": pull_api}},
        "reactions": reactions(api),
        "start_line": None,
        "original_start_line": None,
        "start_side": None,
        "line": item.line,
        "original_line": item.line,
        "side": item.side,
        "subject_type": "line",
    }
    if item.in_reply_to is not None:
        shape["in_reply_to_id"] = item.in_reply_to
    return shape
