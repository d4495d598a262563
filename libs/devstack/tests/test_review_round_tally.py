"""How the review-round chaos scenario judges a pull request from what its round left: lost when no
round finished or a pushed round left no commit or an unanswered thread; duplicated when anything is
there twice; an in-progress or moving round is not finished."""

from __future__ import annotations

from paid_devstack.review_rounds import RoundTally, documentation_diff

PUSHED = "- Round 1 (review, asked by @alice) pushed 0123456789ab (1 file(s) changed)."


def counted(
    *lines: str, comments: int = 1, commits: int = 1, replies: tuple[int, ...] = (1, 1)
) -> RoundTally:
    return RoundTally(
        round_lines=lines,
        conversation_comments=comments,
        new_commits=commits,
        replies=dict(zip((101, 102), replies, strict=True)),
    )


def test_one_pushed_round_with_one_commit_and_a_reply_per_thread_is_neither_lost_nor_duplicated() -> None:
    tally = counted(PUSHED)
    assert (tally.finished, tally.pushed, tally.lost(), tally.duplicated()) == (True, True, None, None)


def test_a_round_still_running_or_moving_to_a_fresh_worktree_is_not_finished() -> None:
    assert counted(commits=0, replies=(0, 0)).lost() == "no finished round"
    for line in (
        "- Round 1 (review, asked by @alice) is running.",
        "- Round 1 (review, asked by @alice) lost the worker holding its worktree (x); it starts again "
        "on a fresh one (move 1 of at most 3).",
    ):
        assert not counted(line, commits=0, replies=(0, 0)).finished


def test_a_pushed_round_without_its_commit_or_a_reply_is_lost() -> None:
    assert counted(PUSHED, commits=0).lost() is not None
    assert "without Paid's reply" in (counted(PUSHED, replies=(1, 0)).lost() or "")


def test_anything_left_twice_is_duplicated() -> None:
    assert counted(PUSHED, PUSHED.replace("Round 1", "Round 2")).duplicated() is not None
    assert counted(PUSHED, comments=2).duplicated() is not None
    assert counted(PUSHED, commits=2).duplicated() is not None
    assert "replies per thread" in (counted(PUSHED, replies=(2, 1)).duplicated() or "")


def test_an_honest_failure_is_finished_without_a_push_and_not_lost() -> None:
    failed = "- Round 1 (review, asked by @alice) failed: run_iteration: timeout"
    tally = counted(failed, commits=0, replies=(0, 0))
    assert (tally.finished, tally.pushed, tally.lost(), tally.duplicated()) == (True, False, None, None)


def test_the_reviewers_diff_documents_add() -> None:
    assert '+    """The sum of a and b."""' in documentation_diff()
