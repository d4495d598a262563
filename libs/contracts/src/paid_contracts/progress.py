"""A run's progress while it runs: batches of the agent's output lines, for live tails.

Published by the executor while the agent runs, at most about once a second per run; consumers
(the gateway's read models) order batches by (attempt, sequence) and drop repeats by event id.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from paid_contracts import subjects
from paid_contracts.envelope import Event
from paid_contracts.github import IssueRef

MAX_LINES_PER_BATCH = 200
MAX_LINE_CHARS = 4000


class RunOutputAppended(Event):
    """New lines the agent wrote since the previous batch of the same attempt."""

    SUBJECT: ClassVar[str] = subjects.RUN_OUTPUT_APPENDED
    type: Literal["paid.run.output_appended"] = "paid.run.output_appended"
    run_id: str
    workflow_id: str
    issue: IssueRef
    attempt: int = Field(ge=1, description="the agent activity's attempt; a retry starts its output anew")
    sequence: int = Field(ge=0, description="batch number within the attempt, from 0")
    step: str = Field(default="agent", description="what the run was doing: clone, agent, push")
    stream: Literal["stdout", "stderr"] = "stdout"
    lines: tuple[str, ...] = Field(
        max_length=MAX_LINES_PER_BATCH, description=f"lines without newline, each cut at {MAX_LINE_CHARS}"
    )


EVENTS: tuple[type[Event], ...] = (RunOutputAppended,)
