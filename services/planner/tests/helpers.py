"""Polling with a deadline, for tests that wait on other threads and processes."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from temporalio.client import WorkflowHandle

from paid_contracts import IssueRef
from paid_planner.params import PlanningInput


async def eventually(check: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def planning_input(issue: IssueRef, **extra: object) -> PlanningInput:
    return PlanningInput(
        issue=issue,
        label="paid-plan",
        actor="octo-org",
        request_event_id=str(uuid.uuid4()),
        **extra,  # type: ignore[arg-type]
    )


HISTORIES = Path(__file__).parent / "histories"


async def record_history(handle: WorkflowHandle, name: str) -> None:
    """With PAID_RECORD_HISTORIES=1, keeps the finished history for test_replay.py."""
    if os.environ.get("PAID_RECORD_HISTORIES"):
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{name}.json").write_text((await handle.fetch_history()).to_json())
