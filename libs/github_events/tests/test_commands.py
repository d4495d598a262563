"""`/paid` commands: read from comments only, a line of their own, never from Paid's or a bot's text,
nor from a pull request's body, which the agent writes."""

from __future__ import annotations

from typing import Any

import pytest

from paid_contracts import IssueCommented, LabelMapping
from paid_contracts.markers import paid_marker
from paid_github_events import Delivery, Ignored, PaidCommand, delivery_event, help_text, parse_command


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/paid retry", PaidCommand("retry")),
        ("Thanks!\n\n/PAID Fix-CI  please be quick \n", PaidCommand("fix-ci", "please be quick")),
        ("/paid rebase\n/paid stop", PaidCommand("rebase")),
        ("/paid", PaidCommand("")),
        ("/paid frobnicate", PaidCommand("frobnicate")),
        ("please /paid retry", None),  # mid-sentence: talking about it
        ("> /paid retry", None),  # quoted
        ("```\n/paid retry\n```", None),  # a code block
        ("    /paid retry", None),  # an indented code block
        ("/paidretry", None),
        ("/paid-bot retry", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_command(body: str | None, expected: PaidCommand | None) -> None:
    assert parse_command(body) == expected


def test_known_commands_and_a_help_that_names_them() -> None:
    assert [c.known for c in (PaidCommand("retry"), PaidCommand("stop"), PaidCommand("frobnicate"))] == [
        True,
        True,
        False,
    ]
    assert "`/paid fix-ci`" in help_text()
    assert "`/paid retry`" in help_text()


def test_the_handle_is_configurable() -> None:
    assert parse_command("/acme retry", handle="acme") == PaidCommand("retry")
    assert parse_command("/paid retry", handle="acme") is None


def comment_delivery(body: str, *, login: str = "alice", kind: str = "User") -> Delivery:
    payload: dict[str, Any] = {
        "action": "created",
        "issue": {"number": 7, "updated_at": "2026-01-01T00:00:00Z", "pull_request": {"url": "x"}},
        "comment": {
            "id": 99,
            "body": body,
            "user": {"login": login, "type": kind},
            "author_association": "OWNER",
        },
        "repository": {"name": "widgets", "owner": {"login": "octo"}},
        "sender": {"login": login, "type": kind},
    }
    return Delivery("issue_comment", "delivery-1", payload)


def test_the_translator_names_a_comments_command_for_both_paths() -> None:
    event = delivery_event(comment_delivery("/paid retry"), labels=LabelMapping(), producer="test")
    assert isinstance(event, IssueCommented)
    assert (event.command, event.command_argument) == ("retry", "")
    plain = delivery_event(comment_delivery("LGTM"), labels=LabelMapping(), producer="test")
    assert isinstance(plain, IssueCommented)
    assert plain.command is None


def test_paids_own_text_a_bots_comment_and_a_pull_request_body_give_no_command() -> None:
    """Adversarial: the agent's words reach GitHub through Paid (its comments, carrying the marker; the
    pull request's body) or through a bot account; none of them is a trigger."""
    labels = LabelMapping()
    paids = comment_delivery(f"The agent says:\n/paid retry\n{paid_marker('run=r1')}")
    bots = comment_delivery("/paid retry", login="paid-app[bot]", kind="Bot")
    assert isinstance(delivery_event(paids, labels=labels, producer="test"), Ignored)
    assert isinstance(delivery_event(bots, labels=labels, producer="test"), Ignored)
    for action in ("opened", "edited"):
        opened = Delivery(
            "pull_request",
            "delivery-2",
            {
                "action": action,
                "pull_request": {
                    "number": 8,
                    "body": "/paid retry\nCloses #7",
                    "head": {"ref": "paid/issue-7"},
                },
                "repository": {"name": "widgets", "owner": {"login": "octo"}},
                "sender": {"login": "alice", "type": "User"},
            },
        )
        assert isinstance(delivery_event(opened, labels=labels, producer="test"), Ignored)
