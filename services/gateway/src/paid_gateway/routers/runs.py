"""Runs, read from the gateway's projections: list, detail, output, and their live streams (SSE)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import IterationSummary
from paid_gateway import sse
from paid_gateway.auth.deps import Principal, Viewer
from paid_gateway.config import GatewaySettings
from paid_gateway.deps import HubDep, SessionDep, SessionsDep, SettingsDep
from paid_gateway.projections import queries
from paid_gateway.projections.hub import ChangeHub
from paid_gateway.projections.models import RunRow
from paid_gateway.projections.public import OutputLine, RunDetail, RunLinks, RunList, RunPublic, RunStep
from paid_runtime.temporal import workflow_ui_url

router = APIRouter(prefix="/api/runs", tags=["runs"])
KEEPALIVE_SECONDS = 15.0
RunId = Annotated[str, Path(min_length=1, max_length=200, description="the run id (Temporal run id)")]
REPO_PATTERN = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"


async def find_run(session: AsyncSession, run_id: str, principal: Principal) -> RunRow:
    """The run, when the token's project scope reaches it; another project's run is as unknown."""
    run = await queries.get_run(session, run_id=run_id)
    if run is None or not principal.sees(queries.project_of(run)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no run {run_id!r} is known to the gateway")
    return run


@router.get("")
async def list_runs(
    viewer: Viewer,
    session: SessionDep,
    repo: Annotated[str | None, Query(pattern=REPO_PATTERN, description="owner/name")] = None,
    project: Annotated[str | None, Query(max_length=200)] = None,
    run_status: Annotated[str | None, Query(alias="status", max_length=40)] = None,
    issue: Annotated[int | None, Query(gt=0, lt=2**31)] = None,
    active: Annotated[bool | None, Query(description="only running (true) or only finished (false)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> RunList:
    """Runs, most recently changed first."""
    where = queries.RunFilter(
        repo=repo,
        project=project,
        status=run_status,
        issue=issue,
        active=active,
        limit=limit,
        offset=offset,
        projects=viewer.projects,
    )
    rows = await queries.list_runs(session, where=where)
    return RunList(runs=[RunPublic.of(row) for row in rows], count=len(rows))


@router.get("/stream", response_class=StreamingResponse, responses={200: {"content": {sse.MEDIA_TYPE: {}}}})
async def stream_runs(
    request: Request, viewer: Viewer, sessions: SessionsDep, hub: HubDep, settings: SettingsDep
) -> StreamingResponse:
    """Server-sent events: `run` (a RunPublic) for the recent runs, then for every change."""
    return StreamingResponse(
        _run_changes(request, sessions, hub, settings.stream_poll_seconds, viewer),
        media_type=sse.MEDIA_TYPE,
        headers=sse.HEADERS,
    )


async def _run_changes(
    request: Request,
    sessions: async_sessionmaker[AsyncSession],
    hub: ChangeHub,
    poll: float,
    viewer: Principal,
) -> AsyncIterator[str]:
    async with sessions() as session:
        recent = await queries.list_runs(
            session, where=queries.RunFilter(limit=100, projects=viewer.projects)
        )
    cursor = datetime.min.replace(tzinfo=UTC)
    for row in reversed(recent):
        cursor = max(cursor, row.updated_at)
        yield sse.frame("run", RunPublic.of(row))
    yield sse.frame("ready", {"runs": len(recent)})
    quiet_since = time.monotonic()
    while not await request.is_disconnected():
        await hub.wait(poll)
        async with sessions() as session:
            changed = await queries.runs_changed_since(session, since=cursor)
        for row in changed:
            cursor = max(cursor, row.updated_at)
            if viewer.sees(queries.project_of(row)):
                yield sse.frame("run", RunPublic.of(row))
        if changed:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield sse.KEEPALIVE


@router.get("/{run_id}")
async def get_run(run_id: RunId, viewer: Viewer, session: SessionDep, settings: SettingsDep) -> RunDetail:
    """One run with its steps, the tail of the agent's output and links to Temporal and the trace."""
    run = await find_run(session, run_id, viewer)
    steps = await queries.run_steps(session, run_id=run_id)
    tail = await queries.output_tail(session, run_id=run_id, lines=settings.output_tail_lines)
    return RunDetail(
        **RunPublic.of(run).model_dump(),
        branch=run.branch,
        head_sha=run.head_sha,
        iteration_summaries=[IterationSummary.model_validate(summary) for summary in run.iteration_summaries],
        steps=[RunStep.of(step) for step in steps],
        output_tail=[OutputLine.of(line) for line in tail],
        links=links_for(run, settings),
    )


def links_for(run: RunRow, settings: GatewaySettings) -> RunLinks:
    trace = None
    if settings.trace_ui_url and run.trace_id:
        trace = settings.trace_ui_url.replace("{trace_id}", run.trace_id)
    return RunLinks(
        temporal=workflow_ui_url(settings.temporal_ui_url, settings.temporal_namespace, run.workflow_id)
        + f"/{run.run_id}/history",
        trace=trace,
        pull_request=run.pull_request_url,
    )


@router.get("/{run_id}/output")
async def get_output(
    run_id: RunId,
    viewer: Viewer,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, lt=2**62, description="only lines after this cursor")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[OutputLine]:
    """The agent's output lines in arrival order, from a cursor."""
    await find_run(session, run_id, viewer)
    rows = await queries.output_after(session, run_id=run_id, after_id=after, limit=limit)
    return [OutputLine.of(row) for row in rows]


@router.get(
    "/{run_id}/output/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {sse.MEDIA_TYPE: {}}}, 404: {"description": "unknown run"}},
)
async def stream_output(
    run_id: RunId,
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    sessions: SessionsDep,
    hub: HubDep,
    settings: SettingsDep,
    after: Annotated[int, Query(ge=0, lt=2**62)] = 0,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
) -> StreamingResponse:
    """Server-sent events: `output` (a list of OutputLine) as the agent writes, `run` when the run
    changes, and a final `end` (the RunPublic) once the run has finished; then the stream closes."""
    await find_run(session, run_id, viewer)
    if last_event_id is not None and last_event_id.isdigit():
        after = max(after, int(last_event_id))
    return StreamingResponse(
        _output_changes(request, sessions, hub, run_id, after, settings.stream_poll_seconds),
        media_type=sse.MEDIA_TYPE,
        headers=sse.HEADERS,
    )


Phase = Literal["live", "draining"]


async def _output_changes(
    request: Request,
    sessions: async_sessionmaker[AsyncSession],
    hub: ChangeHub,
    run_id: str,
    cursor: int,
    poll: float,
) -> AsyncIterator[str]:
    last_status: str | None = None
    quiet_since = time.monotonic()
    phase: Phase = "live"
    while True:
        async with sessions() as session:
            lines = await queries.output_after(session, run_id=run_id, after_id=cursor)
            run = await queries.get_run(session, run_id=run_id)
        if lines:
            cursor = lines[-1].id or cursor
            quiet_since = time.monotonic()
            yield sse.frame(
                "output",
                [OutputLine.of(line).model_dump(mode="json") for line in lines],
                event_id=str(cursor),
            )
            if len(lines) >= 500:
                continue
        if run is not None and run.status != last_status:
            last_status = run.status
            yield sse.frame("run", RunPublic.of(run))
        if run is not None and run.status not in ("running",) and not lines:
            if phase == "draining":
                yield sse.frame("end", RunPublic.of(run))
                return
            # Output published just before the end may still be on its way: one more short wait.
            phase = "draining"
        if await request.is_disconnected():
            return
        if time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield sse.KEEPALIVE
        await hub.wait(poll if phase == "live" else min(poll, 0.5))
