import pytest
from pydantic import ValidationError

from paid_contracts import BuildRequested, IssueRef, RepoRef, RunFinished, RunOutcome, TriggerSource, subjects


def _build_requested() -> BuildRequested:
    return BuildRequested(
        producer="gateway",
        issue=IssueRef(repo=RepoRef(owner="acme", name="shop"), number=7),
        label="paid-build",
        actor="alice",
        source=TriggerSource.WEBHOOK,
        source_id="delivery-1",
    )


def test_event_round_trips_through_json_with_its_type() -> None:
    event = _build_requested()
    again = BuildRequested.model_validate_json(event.model_dump_json())
    assert again == event
    assert again.type == "paid.github.build_requested"
    assert again.subject == subjects.GITHUB_BUILD_REQUESTED
    assert again.issue.key == "acme/shop#7"


def test_events_are_frozen() -> None:
    event = _build_requested()
    with pytest.raises(ValidationError):
        event.label = "other"  # type: ignore[misc]


def test_unknown_fields_from_a_newer_producer_are_tolerated() -> None:
    payload = _build_requested().model_dump(mode="json") | {"added_in_v2": True}
    assert BuildRequested.model_validate(payload).actor == "alice"


def test_issue_numbers_must_be_positive() -> None:
    with pytest.raises(ValidationError):
        IssueRef(repo=RepoRef(owner="a", name="b"), number=0)


def test_run_finished_rejects_negative_durations() -> None:
    with pytest.raises(ValidationError):
        RunFinished(
            producer="executor",
            run_id="r",
            workflow_id="w",
            issue=IssueRef(repo=RepoRef(owner="a", name="b"), number=1),
            agent="demo",
            prompt_version="coding@1",
            outcome=RunOutcome.SUCCEEDED,
            started_at="2026-01-01T00:00:00Z",
            duration_seconds=-1,
            iterations=1,
        )


def test_every_stream_subject_is_covered() -> None:
    covered = [spec for spec in subjects.ALL_STREAMS if any(s.endswith(">") for s in spec.subjects)]
    assert len(covered) == len(subjects.ALL_STREAMS)
    assert subjects.dead_letter_subject("paid.run.finished") == "paid.dead.paid.run.finished"
