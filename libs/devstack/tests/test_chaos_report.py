"""What the chaos report says about a run that failed: its comment's headline and quoted cause."""

from __future__ import annotations

from paid_devstack.chaos import failure_cause


def test_the_cause_of_a_failure_is_the_headline_and_the_quoted_detail() -> None:
    comment = "\n".join(
        [
            "<!-- paid:run=run-1:result -->",
            "Paid could not finish this issue (failed, after 12 s).",
            "",
            "> the command agent failed (exit code 3): gate never opened",
            "",
            "Outcome: **failed** · iterations 1 · run `run-1` · prompt `coding@1`",
        ]
    )

    assert failure_cause(comment) == (
        "Paid could not finish this issue (failed, after 12 s). | "
        "the command agent failed (exit code 3): gate never opened"
    )


def test_a_comment_without_detail_gives_its_headline() -> None:
    comment = "<!-- paid:run=run-2:result -->\nPaid cancelled this run.\n\nOutcome: **cancelled**"
    assert failure_cause(comment) == "Paid cancelled this run."
