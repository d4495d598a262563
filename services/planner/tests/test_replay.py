"""Recorded PlanningWorkflow histories must replay on today's code: a non-deterministic change fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from paid_planner.workflows import PlanningWorkflow

HISTORIES = Path(__file__).parent / "histories"


def test_histories_are_recorded() -> None:
    assert {path.stem for path in HISTORIES.glob("*.json")} >= {
        "planned_and_released",
        "questions_answered",
        "auto_stopped_then_merged",
    }


@pytest.mark.parametrize("recorded", sorted(HISTORIES.glob("*.json")), ids=lambda path: path.stem)
async def test_recorded_histories_still_replay(recorded: Path) -> None:
    """Re-record (after a deliberate, versioned change) with PAID_RECORD_HISTORIES=1."""
    history = WorkflowHistory.from_json("recorded", recorded.read_text())
    replayer = Replayer(workflows=[PlanningWorkflow], data_converter=pydantic_data_converter)
    await replayer.replay_workflow(history)
