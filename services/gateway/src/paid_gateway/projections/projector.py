"""Applies run events to the read models, each event once (its id is recorded in the same transaction).

Events may arrive out of order (a redelivered `started` after `finished`): every write is an upsert
that never moves a finished run back to running and never overwrites a known value with nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field, TypeAdapter
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import Event, PullRequestOpened, RunFinished, RunOutputAppended, RunStarted
from paid_contracts.workflow_ids import execution_workflow_id
from paid_gateway.projections.models import RunEventRow, RunOutputRow, RunRow

RUNNING = "running"
RunEvent = Annotated[
    RunStarted | PullRequestOpened | RunFinished | RunOutputAppended, Field(discriminator="type")
]
RUN_EVENT = TypeAdapter[RunEvent](RunEvent)
KNOWN_TYPES = frozenset(
    t.model_fields["type"].default for t in (RunStarted, PullRequestOpened, RunFinished, RunOutputAppended)
)


def parse_run_event(payload: dict[str, Any]) -> RunEvent | None:
    """The event, or None for a run event type this gateway does not know (a newer producer's)."""
    if payload.get("type") not in KNOWN_TYPES:
        return None
    return RUN_EVENT.validate_python(payload)


def trace_id_of(event: Event) -> str | None:
    parts = (event.trace.traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


def workflow_id_of(event: PullRequestOpened | RunOutputAppended) -> str:
    workflow_id = getattr(event, "workflow_id", None)
    return workflow_id or execution_workflow_id(event.issue.repo.full_name, event.issue.number)


async def apply(session: AsyncSession, event: RunEvent) -> bool:
    """Applies the event and commits; returns False when it had been applied before."""
    if isinstance(event, RunOutputAppended):
        added = await _append_output(session, event)
    elif await _record_event(session, event):
        await _project(session, event)
        added = True
    else:
        added = False
    await session.commit()
    return added


async def _record_event(session: AsyncSession, event: RunStarted | PullRequestOpened | RunFinished) -> bool:
    statement = (
        insert(RunEventRow)
        .values(
            event_id=event.event_id,
            run_id=event.run_id,
            type=event.type,
            occurred_at=event.occurred_at,
            summary=_summary(event),
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


def _summary(event: RunStarted | PullRequestOpened | RunFinished) -> str:
    if isinstance(event, RunStarted):
        return f"agent {event.agent} started with prompt {event.prompt_version}"
    if isinstance(event, PullRequestOpened):
        return f"pull request #{event.number} opened from {event.branch}"
    return f"{event.outcome.value}: {event.detail}".rstrip(": ")


async def _project(session: AsyncSession, event: RunStarted | PullRequestOpened | RunFinished) -> None:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "run_id": event.run_id,
        "repo": event.issue.repo.full_name,
        "issue_number": event.issue.number,
        "project": event.correlation.project,
        "updated_at": now,
    }
    table = RunRow.__table__  # type: ignore[attr-defined]
    excluded: Any
    if isinstance(event, RunStarted):
        values = {
            **base,
            "workflow_id": event.workflow_id,
            "agent": event.agent,
            "prompt_version": event.prompt_version,
            "status": RUNNING,
            "started_at": event.occurred_at,
            "trace_id": trace_id_of(event),
        }
        statement = insert(RunRow).values(**values)
        excluded = statement.excluded
        update = {
            "agent": excluded.agent,
            "prompt_version": excluded.prompt_version,
            "started_at": func.coalesce(table.c.started_at, excluded.started_at),
            "trace_id": func.coalesce(table.c.trace_id, excluded.trace_id),
        }
    elif isinstance(event, PullRequestOpened):
        values = {
            **base,
            "workflow_id": workflow_id_of(event),
            "status": RUNNING,
            "pull_request_number": event.number,
            "pull_request_url": event.url,
            "branch": event.branch,
            "head_sha": event.head_sha,
        }
        statement = insert(RunRow).values(**values)
        excluded = statement.excluded
        update = {
            "pull_request_number": excluded.pull_request_number,
            "pull_request_url": excluded.pull_request_url,
            "branch": excluded.branch,
            "head_sha": excluded.head_sha,
        }
    else:
        started = _parse_time(event.started_at)
        values = {
            **base,
            "workflow_id": event.workflow_id,
            "agent": event.agent,
            "prompt_version": event.prompt_version,
            "status": event.outcome.value,
            "detail": event.detail,
            "started_at": started,
            "finished_at": event.occurred_at,
            "duration_seconds": event.duration_seconds,
            "iterations": event.iterations,
            "pull_request_number": event.pull_request_number,
            "pull_request_url": event.pull_request_url,
            "input_tokens": event.input_tokens,
            "output_tokens": event.output_tokens,
            "cost_usd": event.cost_usd,
            "model": event.model,
            "cache_read_tokens": event.cache_read_tokens,
            "cache_write_tokens": event.cache_write_tokens,
            "reasoning_tokens": event.reasoning_tokens,
            "iteration_summaries": [summary.model_dump(mode="json") for summary in event.iteration_summaries],
            "trace_id": trace_id_of(event),
        }
        statement = insert(RunRow).values(**values)
        excluded = statement.excluded
        update = {
            name: excluded[name]
            for name in (
                "status",
                "detail",
                "finished_at",
                "duration_seconds",
                "iterations",
                "input_tokens",
                "output_tokens",
                "cost_usd",
                "agent",
                "prompt_version",
                "model",
                "cache_read_tokens",
                "cache_write_tokens",
                "reasoning_tokens",
                "iteration_summaries",
            )
        }
        update["started_at"] = func.coalesce(table.c.started_at, excluded.started_at)
        update["trace_id"] = func.coalesce(table.c.trace_id, excluded.trace_id)
        for name in ("pull_request_number", "pull_request_url"):
            update[name] = func.coalesce(excluded[name], table.c[name])
    update["project"] = func.coalesce(table.c.project, excluded.project)
    update["updated_at"] = excluded.updated_at
    await session.exec(statement.on_conflict_do_update(index_elements=["run_id"], set_=update))


async def _append_output(session: AsyncSession, event: RunOutputAppended) -> bool:
    now = datetime.now(UTC)
    # The run may not be known yet (its `started` is delayed): create it as running.
    run = insert(RunRow).values(
        run_id=event.run_id,
        workflow_id=event.workflow_id,
        repo=event.issue.repo.full_name,
        issue_number=event.issue.number,
        project=event.correlation.project,
        status=RUNNING,
        updated_at=now,
    )
    await session.exec(
        run.on_conflict_do_update(index_elements=["run_id"], set_={"updated_at": run.excluded.updated_at})
    )
    if not event.lines:
        return False
    rows = [
        {
            "run_id": event.run_id,
            "attempt": event.attempt,
            "sequence": event.sequence,
            "position": position,
            "stream": event.stream,
            "step": event.step,
            "text": line,
            "occurred_at": event.occurred_at,
        }
        for position, line in enumerate(event.lines)
    ]
    statement = insert(RunOutputRow).values(rows).on_conflict_do_nothing(constraint="run_output_line")
    result = await session.exec(statement)
    return bool(result.rowcount)


def _parse_time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
