"""Real GitHub payloads (octokit/webhooks examples) read as pull request events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from paid_contracts import (
    CheckRunCompleted,
    LabelMapping,
    PullRequestHeadMoved,
    PullRequestReviewed,
    ReviewRequested,
)
from paid_contracts.markers import paid_marker
from paid_github_events import Delivery, Ignored, delivery_event

FIXTURES = Path("/work/shared/fixtures/github-webhooks")


def payload(event: str, action: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        (FIXTURES / event / f"{action or ''}.payload.json".lstrip(".")).read_text()
    )
    return found


def read(event: str, body: dict[str, Any]) -> object:
    return delivery_event(Delivery(event, "d-1", body), labels=LabelMapping(), producer="gateway")


def test_a_submitted_review() -> None:
    event = read("pull_request_review", payload("pull_request_review", "submitted"))
    assert isinstance(event, PullRequestReviewed)
    assert event.event_id == "github:codertocat/hello-world#2:review:237895671"
    assert (event.state, event.reviewer, event.number) == ("commented", "Codertocat", 2)


def test_a_review_by_paid_itself_or_a_bot_is_ignored() -> None:
    body = payload("pull_request_review", "submitted")
    body["review"]["body"] = f"Looks good.\n{paid_marker('run=r1:review')}"
    assert isinstance(read("pull_request_review", body), Ignored)
    body = payload("pull_request_review", "submitted")
    body["review"]["user"] |= {"login": "dependabot[bot]", "type": "Bot"}
    assert isinstance(read("pull_request_review", body), Ignored)


def test_a_completed_check_run() -> None:
    event = read("check_run", payload("check_run", "completed"))
    assert isinstance(event, CheckRunCompleted)
    assert event.event_id == "github:codertocat/hello-world:check-run:128620228:completed"
    assert (event.conclusion, event.name, event.pull_numbers) == ("success", "Octocoders-linter", (2,))
    assert isinstance(read("check_run", payload("check_run", "created")), Ignored)


def test_a_push_to_a_pull_requests_head() -> None:
    event = read("pull_request", payload("pull_request", "synchronize"))
    assert isinstance(event, PullRequestHeadMoved)
    assert event.event_id == "github:codertocat/hello-world#2:head:ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert (event.head_ref, event.number) == ("changes", 2)


def test_the_review_label_on_a_pull_request() -> None:
    body = payload("pull_request", "labeled")
    assert isinstance(read("pull_request", body), Ignored)  # the example's label is not Paid's
    body["label"]["name"] = "paid-review"
    event = read("pull_request", body)
    assert isinstance(event, ReviewRequested)
    assert event.head_sha == body["pull_request"]["head"]["sha"]
    assert (event.number, event.head_repo, event.requested_by) == (
        body["number"],
        body["pull_request"]["head"]["repo"]["full_name"],
        body["sender"]["login"],
    )
    body["sender"] |= {"login": "dependabot[bot]", "type": "Bot"}
    assert isinstance(read("pull_request", body), Ignored)
