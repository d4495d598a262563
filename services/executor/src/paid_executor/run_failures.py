"""How a run fails: the errors the execution workflow raises inside itself, and how an activity's
failure is told (a lost worktree host, or a one-line detail for the issue's comment)."""

from __future__ import annotations

from typing import Literal

from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError, TimeoutType

from paid_contracts import RunOutcome


class RunCancelledError(Exception):
    """The `cancel` signal arrived; raised at a safe point."""


class HostLostError(Exception):
    """The worker holding the run's worktree did not answer: the run must move to a fresh one."""

    def __init__(self, detail: str, *, unreachable: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.unreachable = unreachable  # nobody polls its queue: no use asking it to clean up


class RunFailedError(Exception):
    def __init__(self, outcome: RunOutcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


def host_lost(error: ActivityError) -> Literal["unreachable", "silent", "missing"] | None:
    """How the worktree's worker was lost, if that is why the activity failed: nobody took the task
    from its queue, its heartbeats stopped (after every retry), or it no longer has the worktree."""
    cause = error.cause
    if isinstance(cause, TimeoutError):
        if cause.type is TimeoutType.SCHEDULE_TO_START:
            return "unreachable"
        if cause.type is TimeoutType.HEARTBEAT:
            return "silent"
    if isinstance(cause, ApplicationError) and cause.type == "WorktreeMissing":
        return "missing"
    return None


def failure_detail(error: ActivityError) -> str:
    cause = error.cause
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    message = str(cause) if cause is not None else str(error)
    return f"{error.activity_type}: {message}"
