"""Untrusted text in each channel's format, signatures, routing and the channel settings' refusals."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import ValidationError

from paid_contracts import IssueRef, RepoRef, RunFinished, RunOutcome
from paid_contracts.notifications import ChannelSpec, NotificationKind
from paid_notifier.channels import signature
from paid_notifier.messages import email_message, slack_payload, webhook_body
from paid_notifier.routing import route

HOSTILE = "done <!channel> <https://evil.example|click here> & *bold*\r\nBcc: victim@example.com"


def finished(repo: str = "alice/app", detail: str = HOSTILE) -> RunFinished:
    owner, name = repo.split("/")
    return RunFinished(
        producer="executor",
        run_id="run-1",
        workflow_id="exec-1",
        issue=IssueRef(repo=RepoRef(owner=owner, name=name), number=7),
        agent="claude-code",
        prompt_version="build@1",
        outcome=RunOutcome.SUCCEEDED,
        started_at="2026-12-07T10:00:00Z",
        duration_seconds=60,
        iterations=2,
        pull_request_url="https://github.com/alice/app/pull/8",
        detail=detail,
    )


def test_slack_text_from_an_event_cannot_mention_link_or_inject_markup() -> None:
    text = slack_payload(finished())["blocks"][0]["text"]["text"]  # type: ignore[index]
    assert "<!channel>" not in text
    assert "<https://evil.example" not in text
    assert "&lt;!channel&gt; &lt;https://evil.example|click here&gt; &amp; *bold*" in text
    assert text.endswith("<https://github.com/alice/app/pull/8|open>")  # Paid's own link stays a link


def test_an_email_header_never_takes_a_line_break_from_an_event() -> None:
    message = email_message(finished(), sender="paid@example.com", recipient="owner@example.com")
    assert message["Bcc"] is None
    assert "\n" not in str(message["Subject"])
    assert "Bcc: victim@example.com" in message.get_content()  # in the body, as text
    assert message["To"] == "owner@example.com"


def test_a_webhook_body_carries_the_text_as_json_and_its_signature_verifies() -> None:
    body = webhook_body(finished())
    assert b"\\r\\nBcc" in body
    expected = "sha256=" + hmac.new(b"s" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("s" * 16, "1700000000", body) == expected
    assert signature("t" * 16, "1700000000", body) != expected


def test_routing_by_project_and_kind() -> None:
    every = ChannelSpec(name="all", kind="slack", target="https://hooks.example/a")
    mine = ChannelSpec(name="mine", kind="slack", target="https://hooks.example/b", project="Alice/App")
    budgets = ChannelSpec(
        name="budgets", kind="slack", target="https://hooks.example/c", events=(NotificationKind.BUDGET_STOP,)
    )
    theirs = ChannelSpec(name="theirs", kind="slack", target="https://hooks.example/d", project="bob/x")
    assert [c.name for c in route([every, mine, budgets, theirs], finished())] == ["all", "mine"]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"name": "x", "kind": "pager", "target": "https://a.example"}, "kind"),
        ({"name": "x", "kind": "slack", "target": "hooks.example/no-scheme"}, "target"),
        ({"name": "x", "kind": "slack", "target": "ftp://hooks.example/a"}, "target"),
        ({"name": "x", "kind": "email", "target": "owner@example.com\r\nBcc: x@y.z"}, "target"),
        ({"name": "x", "kind": "webhook", "target": "https://a.example"}, "secret"),
        ({"name": "x", "kind": "slack", "target": "https://a.example", "events": ["lunch"]}, "events"),
        ({"name": "x", "kind": "slack", "target": "https://a.example", "project": "no-slash"}, "project"),
    ],
)
def test_a_bad_channel_is_refused_naming_the_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ChannelSpec.model_validate(spec)
    assert field in {str(error["loc"][0]) for error in refused.value.errors()}
