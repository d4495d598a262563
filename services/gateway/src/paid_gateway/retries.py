"""Whether the retry API may request a new attempt at an issue, decided before it answers, so that a
202 always means the executor starts one (it applies the same rule, `paid_runtime.attempts`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts.workflow_ids import attempt_of
from paid_gateway.projections.models import RunRow
from paid_runtime.attempts import SUCCEEDED, PullState, refusal_after_success

RUNNING = "running"
PullStateOf = Callable[[str, int], Awaitable[PullState]]  # (owner/name, number) -> state on GitHub


async def retry_refusal(session: AsyncSession, run: RunRow, pull_state: PullStateOf) -> str | None:
    """Why no new attempt at the run's issue may start now; None when one may."""
    same_issue = (col(RunRow.repo) == run.repo, col(RunRow.issue_number) == run.issue_number)
    statement = select(RunRow).where(*same_issue)
    attempts = list((await session.exec(statement)).all())
    issue = f"{run.repo}#{run.issue_number}"
    running = next((row for row in attempts if row.status == RUNNING), None)
    if running is not None:
        return f"attempt {attempt_of(running.workflow_id)} of {issue} (run {running.run_id}) is still running"
    latest = max(attempts, key=_order)
    if latest.status != SUCCEEDED or latest.pull_request_number is None:
        return None
    state = await pull_state(run.repo, latest.pull_request_number)
    reason = refusal_after_success(latest.pull_request_number, state)
    if reason is None:
        return None
    return f"attempt {attempt_of(latest.workflow_id)} of {issue} succeeded and {reason}"


def _order(row: RunRow) -> tuple[int, datetime]:
    return attempt_of(row.workflow_id), row.started_at or row.updated_at or datetime.min.replace(tzinfo=UTC)
