"""What the execution workflow's signals change, and where a run stops for them: the state shared by the
workflow (workflows.py), its loop (fix_forward.py) and its reports (run_reporting.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from paid_contracts import IterationSummary, RunOutcome
    from paid_executor.params import AgentRunOutput, PullRequestInfo, RunContext, RunReport
    from paid_executor.run_failures import RunCancelledError
    from paid_llm import Usage

T = TypeVar("T")


class RunState:
    def __init__(self) -> None:
        self._change: AgentRunOutput | None = None
        self._pull: PullRequestInfo | None = None
        self._iterations = 0
        self._iteration_summaries: list[IterationSummary] = []
        self._max_iterations: int | None = None
        self._step = "starting"
        self._paused = False
        self._cancel_requested = False
        self._instructions: list[str] = []
        self._tokens = 0
        self._cost = 0.0
        self._chosen_agent: tuple[str | None, str | None] = (None, None)  # from .paid.yml and the project
        self._experiment_used = False  # the run used its experiment arm (agents/choice.py)
        self._usage: Usage | None = None
        self._last_output = ""
        self._last_failure: str | None = None
        self._current: asyncio.Task[object] | None = None
        self._homed = False
        # The task queue of the worker holding the worktree; None before the home-queue patch, or when
        # an older worker prepared the worktree: the worktree's activities then use the shared queue.
        self._home: str | None = None
        self._home_start_timeout = timedelta(seconds=30)
        self._watching_home = False  # the home-liveness patch: a lost home ends the awaited attempt at once
        self._lost_homes: set[str] = set()  # home queues an executor reported gone (lost_homes.py)
        self._queue_position: int | None = None
        self._queue_reason: str | None = None
        self._admission_woken = False
        self._admission_asked = False  # the run has a row in the admission queue, to release at its end

    async def _activity(self, handle: workflow.ActivityHandle[T]) -> T:
        """Awaits an activity that the `cancel` signal may interrupt."""
        if self._cancel_requested:
            handle.cancel()
        self._current = handle
        try:
            return await handle
        finally:
            self._current = None

    async def _safe_point(self) -> None:
        if self._paused:
            self._step = "paused"
            await workflow.wait_condition(lambda: not self._paused or self._cancel_requested)
        if self._cancel_requested:
            raise RunCancelledError

    def _run_report(self, run: RunContext, outcome: RunOutcome, detail: str, duration: float) -> RunReport:
        """What the run ends with."""
        return RunReport(
            run=run,
            outcome=outcome,
            detail=detail,
            duration_seconds=duration,
            iterations=self._iterations,
            pull_request=self._pull,
            change=self._change,
            last_failure=self._last_failure,
            tokens=self._tokens,
            cost_usd=self._cost,
            agent=self._chosen_agent[0],
            model=self._chosen_agent[1],
            usage=self._usage,
            iteration_summaries=tuple(self._iteration_summaries),
            experiment_used=self._experiment_used,
        )
