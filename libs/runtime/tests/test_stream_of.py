from __future__ import annotations

import pytest

from paid_contracts import subjects
from paid_runtime.subscriptions import stream_of


@pytest.mark.parametrize(
    ("subject", "stream"),
    [
        (subjects.GITHUB_PLAN_REQUESTED, "PAID_GITHUB"),
        (subjects.RUN_FINISHED, "PAID_RUN"),
        (subjects.dead_letter_subject(subjects.RUN_FINISHED), "PAID_DEAD"),
    ],
)
def test_a_subject_belongs_to_the_stream_whose_wildcard_captures_it(subject: str, stream: str) -> None:
    assert stream_of(subject).name == stream


@pytest.mark.parametrize("subject", ["paid.github", "paid.unknown.thing", subjects.PROMPT_RESOLVE])
def test_a_subject_no_stream_captures_is_refused_by_name(subject: str) -> None:
    with pytest.raises(ValueError, match="no stream captures"):
        stream_of(subject)
