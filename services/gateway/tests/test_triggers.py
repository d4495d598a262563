from __future__ import annotations

from typing import Any

import pytest

from paid_contracts import (
    BuildRequested,
    IssueCommented,
    LabelMapping,
    PlanRequested,
    PullRequestClosed,
    TriggerSource,
)
from paid_contracts.identity import labeled_event_id
from paid_gateway.triggers import Delivery, Ignored, interpret

LABELS = LabelMapping()


def labeled(github_fixture: Any, label: str) -> dict[str, Any]:
    payload: dict[str, Any] = github_fixture("issues", "labeled")
    payload["label"]["name"] = label
    return payload


def test_build_label_becomes_build_requested_identified_by_the_labeling(github_fixture: Any) -> None:
    delivery = Delivery("issues", "delivery-1", labeled(github_fixture, "paid-build"))
    event = interpret(delivery, labels=LABELS)
    assert isinstance(event, BuildRequested)
    # The labeling's identity, which the poller derives from the Issue Events API as well.
    assert event.event_id == "github:codertocat/hello-world#1:labeled:paid-build:2019-05-15T15:20:18Z"
    assert event.event_id == labeled_event_id(
        "Codertocat", "Hello-World", 1, "paid-build", "2019-05-15T15:20:18Z"
    )
    assert event.source_id == "delivery-1"
    assert event.source is TriggerSource.WEBHOOK
    assert event.issue.key == "Codertocat/Hello-World#1"
    assert event.issue.repo.clone_url == "https://github.com/Codertocat/Hello-World.git"
    assert (event.label, event.actor, event.producer) == ("paid-build", "Codertocat", "gateway")
    assert (event.correlation.repo, event.correlation.issue) == ("Codertocat/Hello-World", 1)


def test_two_deliveries_of_one_labeling_are_one_event(github_fixture: Any) -> None:
    first = interpret(Delivery("issues", "d-1", labeled(github_fixture, "paid-build")), labels=LABELS)
    second = interpret(Delivery("issues", "d-2", labeled(github_fixture, "paid-build")), labels=LABELS)
    assert isinstance(first, BuildRequested)
    assert isinstance(second, BuildRequested)
    assert first.event_id == second.event_id
    assert (first.source_id, second.source_id) == ("d-1", "d-2")


def test_plan_label_becomes_plan_requested(github_fixture: Any) -> None:
    event = interpret(Delivery("issues", "d-2", labeled(github_fixture, "paid-plan")), labels=LABELS)
    assert isinstance(event, PlanRequested)
    assert event.label == "paid-plan"


def test_labels_are_configurable_and_compared_case_insensitively(github_fixture: Any) -> None:
    delivery = Delivery("issues", "d-3", labeled(github_fixture, "Robot"))
    assert isinstance(interpret(delivery, labels=LabelMapping(build="robot", plan="x")), BuildRequested)


def test_other_labels_are_ignored(github_fixture: Any) -> None:
    result = interpret(Delivery("issues", "d-4", github_fixture("issues", "labeled")), labels=LABELS)
    assert result == Ignored("label 'bug' is not one of Paid's labels")


def test_labels_applied_by_bots_are_ignored(github_fixture: Any) -> None:
    payload = labeled(github_fixture, "paid-build")
    payload["sender"] |= {"login": "renovate[bot]", "type": "Bot"}
    result = interpret(Delivery("issues", "d-4", payload), labels=LABELS)
    assert result == Ignored("renovate[bot] is a bot")


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ("issues", "unlabeled"),
        ("issues", "opened"),
        ("label", "created"),
        ("pull_request", "labeled"),
        ("issue_comment", "edited"),
        ("pull_request", "opened"),
    ],
)
def test_other_events_and_actions_are_ignored(github_fixture: Any, event: str, action: str) -> None:
    payload = github_fixture(event, action)
    if "label" in payload:
        payload["label"]["name"] = "paid-build"
    result = interpret(Delivery(event, "d-5", payload), labels=LABELS)
    assert isinstance(result, Ignored)
    assert f"{event}.{action}" in result.reason


def test_a_labeled_payload_missing_fields_is_ignored() -> None:
    result = interpret(
        Delivery("issues", "d-6", {"action": "labeled", "label": {"name": "paid-build"}}), labels=LABELS
    )
    assert isinstance(result, Ignored)


def test_a_new_comment_becomes_issue_commented(github_fixture: Any) -> None:
    payload = github_fixture("issue_comment", "created")
    event = interpret(Delivery("issue_comment", "d-7", payload), labels=LABELS)
    assert isinstance(event, IssueCommented)
    comment = payload["comment"]
    assert event.event_id == f"github:codertocat/hello-world#1:comment:{comment['id']}"
    assert (event.comment_id, event.author, event.body) == (comment["id"], "Codertocat", comment["body"])
    assert event.author_association == comment["author_association"]
    assert (event.source, event.source_id) == (TriggerSource.WEBHOOK, "d-7")


@pytest.mark.parametrize(
    ("login", "kind", "body"),
    [
        ("paid[bot]", "Bot", "hi"),
        ("ci-bot", "Bot", "hi"),
        ("paid", "User", "done <!-- paid:run 1:result -->"),
    ],
)
def test_comments_by_paid_and_other_bots_are_ignored(
    github_fixture: Any, login: str, kind: str, body: str
) -> None:
    payload = github_fixture("issue_comment", "created")
    payload["comment"]["user"] |= {"login": login, "type": kind}
    payload["comment"]["body"] = body
    assert isinstance(interpret(Delivery("issue_comment", "d-8", payload), labels=LABELS), Ignored)


def test_a_closed_pull_request_becomes_pull_request_closed(github_fixture: Any) -> None:
    payload = github_fixture("pull_request", "closed")
    payload["pull_request"]["body"] = "Adds the fix.\n\nCloses #7, fixes #3 and resolves #7."
    event = interpret(Delivery("pull_request", "d-9", payload), labels=LABELS)
    assert isinstance(event, PullRequestClosed)
    pull = payload["pull_request"]
    assert event.event_id == f"github:codertocat/hello-world#{pull['number']}:closed:{pull['closed_at']}"
    assert (event.number, event.merged, event.head_ref) == (pull["number"], False, pull["head"]["ref"])
    assert event.closes == (3, 7)
    assert event.closed_by == payload["sender"]["login"]


def test_a_merged_pull_request_says_so(github_fixture: Any) -> None:
    payload = github_fixture("pull_request", "closed")
    payload["pull_request"] |= {"merged": True, "merged_at": payload["pull_request"]["closed_at"]}
    event = interpret(Delivery("pull_request", "d-10", payload), labels=LABELS)
    assert isinstance(event, PullRequestClosed)
    assert event.merged
