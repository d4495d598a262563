import pytest
from pydantic import ValidationError

from paid_contracts import FollowUpFinished, IssueRef, RepoRef, follow_up_event_id, subjects

ISSUE = IssueRef(repo=RepoRef(owner="acme", name="app"), number=1)


def summary(**changes: object) -> FollowUpFinished:
    values: dict[str, object] = {
        "event_id": follow_up_event_id("pr:acme/app#2"),
        "producer": "executor",
        "issue": ISSUE,
        "pull_request_number": 2,
        "rounds": {"review": 2, "ci": 1},
        "rounds_without_push": 1,
        "ci_stopped": False,
    }
    return FollowUpFinished.model_validate({**values, **changes})


def test_a_summary_is_named_by_its_conversation_and_round_trips() -> None:
    event = summary()
    assert event.event_id == follow_up_event_id("pr:acme/app#2") != follow_up_event_id("pr:acme/app#3")
    assert event.SUBJECT == subjects.RUN_FOLLOW_UP_FINISHED
    assert FollowUpFinished.model_validate_json(event.model_dump_json()) == event


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        summary(rounds={"review": -3})
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        summary(rounds_without_push=-1)
    with pytest.raises(ValidationError):
        summary(pull_request_number=0)
