"""Pull request reviews and review comments, with GitHub's rules: comments sit on lines of the diff,
an author cannot approve their own pull request, only approvals and change requests are dismissed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from paid_github_emulator.errors import ApiError, not_found
from paid_github_emulator.git_history import GitHistory
from paid_github_emulator.hub import Hub
from paid_github_emulator.shapes_reviews import review, review_comment
from paid_github_emulator.state import Issue, Repo, Review, ReviewComment, User

HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}


@dataclass(frozen=True)
class DraftComment:
    path: str
    line: int
    body: str
    side: str = "RIGHT"


def not_in_diff() -> ApiError:
    return ApiError(422, "Unprocessable Entity", ["Pull request review thread line must be part of the diff"])


def diff_hunk(patch: str, side: str, line: int) -> str | None:
    """The patch from its hunk header to `line` on `side`, as GitHub shows above a comment; None if the
    line is not in the diff."""
    hunk: list[str] = []
    old = new = 0
    for text in patch.splitlines():
        if match := HUNK.match(text):
            old, new = int(match[1]), int(match[2])
            hunk = [text]
            continue
        hunk.append(text)
        kind = text[:1]
        on_left, on_right = kind in (" ", "-"), kind in (" ", "+")
        if (side == "LEFT" and on_left and old == line) or (side == "RIGHT" and on_right and new == line):
            return "\n".join(hunk)
        old += on_left
        new += on_right
    return None


def _pull(hub: Hub, repo: Repo, number: int) -> Issue:
    item = hub.pull(repo, number)
    hub.refresh_pull(repo, item)
    return item


def _hunk_for(hub: Hub, repo: Repo, item: Issue, draft: DraftComment) -> str:
    pull = item.pull
    assert pull is not None
    files = GitHistory(hub.git, repo.owner, repo.name).changed_files(pull.base_sha, pull.head_sha)
    patch = next((f.patch for f in files if f.path == draft.path), None)
    found = (
        diff_hunk(patch, draft.side, draft.line)
        if patch is not None and draft.side in ("LEFT", "RIGHT")
        else None
    )
    if found is None:
        raise not_in_diff()
    return found


def create_review(
    hub: Hub,
    repo: Repo,
    actor: User,
    number: int,
    *,
    event: str | None,
    body: str,
    comments: list[DraftComment],
    commit_id: str | None = None,
) -> Review:
    """A review with its comments; without `event` it stays PENDING until submitted."""
    with hub.store.lock:
        item = _pull(hub, repo, number)
        pull = item.pull
        assert pull is not None
        hunks = [_hunk_for(hub, repo, item, draft) for draft in comments]
        created = Review(hub.store.new_id(), number, actor.login, "PENDING", body, commit_id or pull.head_sha)
        _check_event(item, actor, event, body)
        repo.reviews[created.id] = created
        now = hub.store.now()
        for draft, hunk in zip(comments, hunks, strict=True):
            comment = ReviewComment(
                hub.store.new_id(),
                created.id,
                number,
                actor.login,
                draft.body,
                draft.path,
                draft.line,
                draft.side,
                created.commit_id,
                hunk,
                now,
                now,
            )
            repo.review_comments[comment.id] = comment
        if event is not None:
            _submit(hub, repo, actor, item, created, event)
        return created


def submit_review(
    hub: Hub, repo: Repo, actor: User, number: int, review_id: int, *, event: str, body: str
) -> Review:
    with hub.store.lock:
        item = _pull(hub, repo, number)
        found = _review(repo, number, review_id)
        if found.state != "PENDING" or found.user.lower() != actor.login.lower():
            raise ApiError(422, "Unprocessable Entity", ["Can not submit a review that is not pending"])
        _check_event(item, actor, event, body or found.body)
        found.body = body or found.body
        _submit(hub, repo, actor, item, found, event)
        return found


def dismiss_review(hub: Hub, repo: Repo, actor: User, number: int, review_id: int, *, message: str) -> Review:
    with hub.store.lock:
        item = _pull(hub, repo, number)
        found = _review(repo, number, review_id)
        if found.state not in ("APPROVED", "CHANGES_REQUESTED"):
            raise ApiError(
                422, "Unprocessable Entity", [f"Can not dismiss a {found.state.lower()} pull request review"]
            )
        found.state = "DISMISSED"
        _emit_review(hub, repo, actor, item, found, "dismissed")
        del message  # GitHub records it on the timeline, which the emulator does not keep
        return found


def create_comment(
    hub: Hub,
    repo: Repo,
    actor: User,
    number: int,
    *,
    draft: DraftComment | None,
    body: str,
    in_reply_to: int | None,
) -> ReviewComment:
    """A single review comment (GitHub wraps it in a COMMENTED review), or a reply in an existing thread."""
    with hub.store.lock:
        item = _pull(hub, repo, number)
        pull = item.pull
        assert pull is not None
        if in_reply_to is not None:
            parent = repo.review_comments.get(in_reply_to)
            if parent is None or parent.pull_number != number:
                raise not_found()
            top = parent.in_reply_to or parent.id
            draft = DraftComment(parent.path, parent.line, body, parent.side)
            hunk, commit_id = parent.diff_hunk, parent.commit_id
        else:
            assert draft is not None
            hunk, commit_id, top = _hunk_for(hub, repo, item, draft), pull.head_sha, None
        now = hub.store.now()
        wrapper = Review(hub.store.new_id(), number, actor.login, "COMMENTED", "", commit_id, now)
        repo.reviews[wrapper.id] = wrapper
        comment = ReviewComment(
            hub.store.new_id(),
            wrapper.id,
            number,
            actor.login,
            body,
            draft.path,
            draft.line,
            draft.side,
            commit_id,
            hunk,
            now,
            now,
            in_reply_to=top,
        )
        repo.review_comments[comment.id] = comment
        _emit_comment(hub, repo, actor, item, comment)
        _emit_review(hub, repo, actor, item, wrapper, "submitted")
        return comment


def _check_event(item: Issue, actor: User, event: str | None, body: str) -> None:
    if event is None:
        return
    if event not in STATES:
        raise ApiError(422, "Unprocessable Entity", [f"Unknown review event {event!r}"])
    if event == "APPROVE" and item.user.lower() == actor.login.lower():
        raise ApiError(422, "Unprocessable Entity", ["Can not approve your own pull request"])
    if event == "REQUEST_CHANGES" and item.user.lower() == actor.login.lower():
        raise ApiError(422, "Unprocessable Entity", ["Can not request changes on your own pull request"])
    if event == "REQUEST_CHANGES" and not body:
        raise ApiError(422, "Unprocessable Entity", ["Body is required when requesting changes"])


def _review(repo: Repo, number: int, review_id: int) -> Review:
    found = repo.reviews.get(review_id)
    if found is None or found.pull_number != number:
        raise not_found()
    return found


def _submit(hub: Hub, repo: Repo, actor: User, item: Issue, found: Review, event: str) -> None:
    found.state, found.submitted_at = STATES[event], hub.store.now()
    for comment in repo.review_comments.values():
        if comment.review_id == found.id:
            _emit_comment(hub, repo, actor, item, comment)
    _emit_review(hub, repo, actor, item, found, "submitted")


def _emit_review(hub: Hub, repo: Repo, actor: User, item: Issue, found: Review, action: str) -> None:
    payload: dict[str, Any] = {
        "action": action,
        "review": review(hub.urls, repo, found, hub.store.users, webhook=True),
        "pull_request": hub.pull_json(repo, item, full=False),
    }
    hub.emit(repo, "pull_request_review", actor, payload)


def _emit_comment(hub: Hub, repo: Repo, actor: User, item: Issue, comment: ReviewComment) -> None:
    payload: dict[str, Any] = {
        "action": "created",
        "comment": review_comment(hub.urls, repo, comment, hub.store.users),
        "pull_request": hub.pull_json(repo, item, full=False),
    }
    hub.emit(repo, "pull_request_review_comment", actor, payload)
