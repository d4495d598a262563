from __future__ import annotations

from typing import Any

import pytest

from paid_contracts import BuildRequested, PlanRequested, TriggerSource
from paid_gateway.triggers import Delivery, Ignored, interpret

LABELS = {"build_label": "paid-build", "plan_label": "paid-plan"}


def labeled(github_fixture: Any, label: str) -> dict[str, Any]:
    payload: dict[str, Any] = github_fixture("issues", "labeled")
    payload["label"]["name"] = label
    return payload


def test_build_label_becomes_build_requested(github_fixture: Any) -> None:
    delivery = Delivery("issues", "delivery-1", labeled(github_fixture, "paid-build"))
    event = interpret(delivery, **LABELS)
    assert isinstance(event, BuildRequested)
    assert event.event_id == event.source_id == "delivery-1"
    assert event.source is TriggerSource.WEBHOOK
    assert event.issue.key == "Codertocat/Hello-World#1"
    assert event.issue.repo.clone_url == "https://github.com/Codertocat/Hello-World.git"
    assert (event.label, event.actor, event.producer) == ("paid-build", "Codertocat", "gateway")
    assert (event.correlation.repo, event.correlation.issue) == ("Codertocat/Hello-World", 1)


def test_plan_label_becomes_plan_requested(github_fixture: Any) -> None:
    event = interpret(Delivery("issues", "d-2", labeled(github_fixture, "paid-plan")), **LABELS)
    assert isinstance(event, PlanRequested)
    assert event.label == "paid-plan"


def test_labels_are_configurable(github_fixture: Any) -> None:
    delivery = Delivery("issues", "d-3", labeled(github_fixture, "robot"))
    assert isinstance(interpret(delivery, build_label="robot", plan_label="x"), BuildRequested)


def test_other_labels_are_ignored(github_fixture: Any) -> None:
    result = interpret(Delivery("issues", "d-4", github_fixture("issues", "labeled")), **LABELS)
    assert result == Ignored("label 'bug' is not one of Paid's labels")


@pytest.mark.parametrize(
    ("event", "action"),
    [("issues", "unlabeled"), ("issues", "opened"), ("label", "created"), ("pull_request", "labeled")],
)
def test_other_events_and_actions_are_ignored(github_fixture: Any, event: str, action: str) -> None:
    payload = github_fixture(event, action)
    if "label" in payload:
        payload["label"]["name"] = "paid-build"
    result = interpret(Delivery(event, "d-5", payload), **LABELS)
    assert isinstance(result, Ignored)
    assert f"{event}.{action}" in result.reason


def test_a_labeled_payload_missing_fields_is_ignored() -> None:
    result = interpret(
        Delivery("issues", "d-6", {"action": "labeled", "label": {"name": "paid-build"}}), **LABELS
    )
    assert isinstance(result, Ignored)
