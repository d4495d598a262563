"""Execution workflow ids carry the attempt, and the attempt reads back from any id Paid has used."""

from __future__ import annotations

import pytest

from paid_contracts.workflow_ids import attempt_of, execution_workflow_id, legacy_execution_workflow_id


@pytest.mark.parametrize("attempt", [1, 2, 17])
def test_the_attempt_reads_back_from_the_id(attempt: int) -> None:
    assert attempt_of(execution_workflow_id("acme/calc", 12, attempt)) == attempt


def test_a_legacy_id_was_the_first_attempt() -> None:
    assert attempt_of(legacy_execution_workflow_id("acme/calc", 12)) == 1
    assert attempt_of("exec:acme/calc#12") == 1


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="attempts count from 1"):
        execution_workflow_id("acme/calc", 12, 0)
