"""A review round on the demo repository, and the count of what it left on its pull request: the
conversation's round lines and comments, the commits it added, and Paid's replies in each thread.
Shared by the chaos driver's review-round scenario and the integration test of a killed round."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import httpx

from paid_devstack.demo_repo import BOT, CALC_BUGGY, DemoIssue
from paid_devstack.sandbox import EmulatedPaid

CONVERSATION_MARKER = "pr-conversation="  # in the one comment a pull request's conversation keeps
ROUND_LINE = "- Round "
IN_PROGRESS = (" is running.", "it starts again on a fresh one")  # a round line that is not its end
CALC_FIXED = CALC_BUGGY.replace("return a - b", "return a + b")
CALC_DOCUMENTED = CALC_FIXED.replace(
    "-> int:\n    return a + b", '-> int:\n    """The sum of a and b."""\n    return a + b'
)


def documentation_diff() -> str:
    """The change the reviewer asks for, as a diff the demo agent applies to the fixed calc.py."""
    lines = difflib.unified_diff(
        CALC_FIXED.splitlines(keepends=True),
        CALC_DOCUMENTED.splitlines(keepends=True),
        fromfile="a/calc.py",
        tofile="b/calc.py",
    )
    return "".join(lines)


@dataclass(frozen=True)
class ReviewedPull:
    """Paid's pull request for `issue`, as it stood when a reviewer asked for changes."""

    issue: DemoIssue
    number: int
    commits_before: int
    threads: tuple[int, ...]  # the ids of the review's inline comments


@dataclass(frozen=True)
class RoundTally:
    round_lines: tuple[str, ...]
    conversation_comments: int
    new_commits: int
    replies: dict[int, int]  # Paid's replies in each of the review's threads

    @property
    def finished(self) -> bool:
        return bool(self.round_lines) and not any(
            part in line for line in self.round_lines for part in IN_PROGRESS
        )

    @property
    def pushed(self) -> bool:
        return any(" pushed " in line for line in self.round_lines)

    def lost(self) -> str | None:
        """What the round should have left and did not, or None."""
        if not self.finished:
            return "no finished round"
        if self.pushed and self.new_commits == 0:
            return "the round says it pushed, and the pull request has no new commit"
        if self.pushed and 0 in self.replies.values():
            return f"a thread without Paid's reply ({self.replies})"
        return None

    def duplicated(self) -> str | None:
        """What the round left more than once, or None."""
        if len(self.round_lines) > 1 or self.conversation_comments > 1 or self.new_commits > 1:
            return (
                f"{len(self.round_lines)} rounds, {self.conversation_comments} conversation comments, "
                f"{self.new_commits} new commits"
            )
        if any(count > 1 for count in self.replies.values()):
            return f"replies per thread {self.replies}"
        return None


def _get(paid: EmulatedPaid, path: str) -> Any:
    response = httpx.get(
        f"{paid.github.api_url}{path}",
        headers={"Authorization": f"token {paid.maintainer_token}"},
        params={"per_page": 100},
    )
    response.raise_for_status()
    return response.json()


def request_changes(paid: EmulatedPaid, issue: DemoIssue, number: int, *, note: str = "") -> ReviewedPull:
    """The maintainer (an admin, so trusted) requests changes on pull request `number` with two inline
    comments: one asking for the documentation with a diff (and `note`), one that needs no change."""
    base = f"/repos/{issue.owner}/{issue.repo}/pulls/{number}"
    commits_before = len(_get(paid, f"{base}/commits"))
    comments = [
        {
            "path": "calc.py",
            "line": 5,
            "body": f"Document add(), please:\n\n```diff\n{documentation_diff()}```\n{note}",
        },
        {"path": "calc.py", "line": 4, "body": "And keep the signature as it is."},
    ]
    response = httpx.post(
        f"{paid.github.api_url}{base}/reviews",
        headers={"Authorization": f"token {paid.maintainer_token}"},
        json={"event": "REQUEST_CHANGES", "body": "Two small things.", "comments": comments},
    )
    response.raise_for_status()
    review_id = response.json()["id"]
    threads = tuple(
        int(comment["id"])
        for comment in _get(paid, f"{base}/comments")
        if comment.get("pull_request_review_id") == review_id
    )
    if len(threads) != len(comments):
        raise RuntimeError(f"the review on {issue.repo}#{number} has {len(threads)} inline comments")
    return ReviewedPull(issue=issue, number=number, commits_before=commits_before, threads=threads)


def tally(paid: EmulatedPaid, reviewed: ReviewedPull) -> RoundTally:
    issue, number = reviewed.issue, reviewed.number
    conversation = [
        str(comment.get("body", ""))
        for comment in paid.github.comments(issue.owner, issue.repo, number)
        if CONVERSATION_MARKER in str(comment.get("body", ""))
    ]
    lines = tuple(line for body in conversation for line in body.splitlines() if line.startswith(ROUND_LINE))
    base = f"/repos/{issue.owner}/{issue.repo}/pulls/{number}"
    review_comments = _get(paid, f"{base}/comments")
    replies = {thread: 0 for thread in reviewed.threads}
    for comment in review_comments:
        answered = comment.get("in_reply_to_id")
        if answered in replies and comment["user"]["login"] == BOT:
            replies[answered] += 1
    return RoundTally(
        round_lines=lines,
        conversation_comments=len(conversation),
        new_commits=len(_get(paid, f"{base}/commits")) - reviewed.commits_before,
        replies=replies,
    )
