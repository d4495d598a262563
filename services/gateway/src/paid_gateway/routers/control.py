"""Control of a run: cancel, pause, resume, instruct (Temporal signals to the executor's workflow) and
retry (a new build request on NATS). See the README for why control goes as signals."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

import httpx
from fastapi import APIRouter, Body, HTTPException, Request, status
from pydantic import BaseModel, Field, field_validator
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from paid_contracts import BuildRequested, Correlation, IssueRef, RepoRef, TriggerSource
from paid_contracts.workflow_ids import ExecutionSignal
from paid_gateway import token_service
from paid_gateway.auth.deps import Operator, Principal
from paid_gateway.deps import PublisherDep, SessionDep, SettingsDep, TemporalDep
from paid_gateway.project_registry import ProjectCache
from paid_gateway.projections.models import RunRow
from paid_gateway.retries import retry_refusal
from paid_gateway.routers.runs import RunId, find_run
from paid_gateway.token_minter import MintError
from paid_runtime.attempts import PullState, pull_request_state
from paid_runtime.github_trust import github_client

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/runs", tags=["control"])

# The executor's AgentExecutionWorkflow handles these signals; their names are in the contracts.
SIGNAL_CANCEL = ExecutionSignal.CANCEL
SIGNAL_PAUSE = ExecutionSignal.PAUSE
SIGNAL_RESUME = ExecutionSignal.RESUME
SIGNAL_INSTRUCT = ExecutionSignal.INSTRUCT


class CancelRequest(BaseModel):
    reason: str = Field(default="", max_length=2000, description="why; shown on the run and the issue")


class InstructRequest(BaseModel):
    text: str = Field(min_length=1, max_length=20_000, description="an instruction for the agent")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the instruction is blank")
        return text.strip()


class ControlAccepted(BaseModel):
    run_id: str
    workflow_id: str
    action: str
    detail: str


class RetryAccepted(BaseModel):
    run_id: str
    request_event_id: str
    detail: str


async def _signal(
    temporal: TemporalDep, run: RunRow, signal: str, arg: str | None, action: str
) -> ControlAccepted:
    if run.status != "running":
        raise HTTPException(status.HTTP_409_CONFLICT, f"run {run.run_id} is not running (it is {run.status})")
    try:
        client: Client = await temporal()
    except Exception:
        log.exception("cannot reach Temporal")
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "Temporal is unavailable; try again"
        ) from None
    handle = client.get_workflow_handle(run.workflow_id, run_id=run.run_id)
    try:
        if arg is None:
            await handle.signal(signal)
        else:
            await handle.signal(signal, arg)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"run {run.run_id} has already ended; nothing to {action}"
            ) from None
        log.exception("signal %s to %s failed", signal, run.workflow_id)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal refused the signal: {error.message}"
        ) from None
    log.info("sent %s to %s (run %s)", signal, run.workflow_id, run.run_id)
    return ControlAccepted(
        run_id=run.run_id, workflow_id=run.workflow_id, action=action, detail=f"{action} sent to the run"
    )


@router.post("/{run_id}/cancel", status_code=status.HTTP_202_ACCEPTED)
async def cancel_run(
    run_id: RunId,
    who: Operator,
    session: SessionDep,
    temporal: TemporalDep,
    request: Annotated[CancelRequest | None, Body()] = None,
) -> ControlAccepted:
    """Asks the run to stop: the agent is killed, its sandbox removed and the run ends as cancelled."""
    run = await find_run(session, run_id, who)
    reason = (request.reason if request else "").strip() or f"cancelled by {who.name}"
    return await _signal(temporal, run, SIGNAL_CANCEL, reason, "cancel")


@router.post("/{run_id}/pause", status_code=status.HTTP_202_ACCEPTED)
async def pause_run(
    run_id: RunId, who: Operator, session: SessionDep, temporal: TemporalDep
) -> ControlAccepted:
    """Asks the run to pause at its next step boundary."""
    return await _signal(temporal, await find_run(session, run_id, who), SIGNAL_PAUSE, None, "pause")


@router.post("/{run_id}/resume", status_code=status.HTTP_202_ACCEPTED)
async def resume_run(
    run_id: RunId, who: Operator, session: SessionDep, temporal: TemporalDep
) -> ControlAccepted:
    """Resumes a paused run."""
    return await _signal(temporal, await find_run(session, run_id, who), SIGNAL_RESUME, None, "resume")


@router.post("/{run_id}/instruct", status_code=status.HTTP_202_ACCEPTED)
async def instruct_run(
    run_id: RunId, request: InstructRequest, who: Operator, session: SessionDep, temporal: TemporalDep
) -> ControlAccepted:
    """Gives the agent an extra instruction, taken into account at its next iteration."""
    run = await find_run(session, run_id, who)
    return await _signal(temporal, run, SIGNAL_INSTRUCT, request.text, "instruct")


@router.post("/{run_id}/retry", status_code=status.HTTP_202_ACCEPTED)
async def retry_run(
    run_id: RunId,
    who: Operator,
    request: Request,
    session: SessionDep,
    publish: PublisherDep,
    settings: SettingsDep,
) -> RetryAccepted:
    """Requests the next attempt at the run's issue (a build request on NATS, as a label would). After
    any outcome, except while an attempt runs or after a success whose pull request is open or merged:
    then 409 says why, since the executor would start nothing."""
    run = await find_run(session, run_id, who)
    projects: ProjectCache = request.app.state.projects
    try:
        token = await token_service.project_token(request.app.state.minter, projects, run.repo, "trust")
    except MintError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"no GitHub credential: {error}") from None
    token = token or settings.github_token

    async def pull_state(repository: str, number: int) -> PullState:
        owner, name = repository.split("/", 1)
        async with github_client(settings.github_api_url, token) as github:
            return await pull_request_state(github, owner=owner, name=name, number=number)

    try:
        refusal = await retry_refusal(session, run, pull_state)
    except httpx.HTTPError:
        log.exception("retry of %s: cannot read the pull request's state", run.run_id)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "GitHub unavailable; try again") from None
    if refusal is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"no new attempt: {refusal}")
    owner, name = run.repo.split("/", 1)
    issue = IssueRef(repo=RepoRef(owner=owner, name=name), number=run.issue_number)
    event = BuildRequested(
        producer="gateway",
        correlation=Correlation(project=run.project, repo=run.repo, issue=run.issue_number, run=run.run_id),
        issue=issue,
        label=settings.build_label,
        actor=who.name,
        source=TriggerSource.COMMAND,
        source_id=f"retry:{run.run_id}:{uuid.uuid4().hex}",
    )
    try:
        await publish(event)
    except Exception:
        log.exception("retry of %s: publishing failed", run.run_id)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "event bus unavailable; try again") from None
    return RetryAccepted(
        run_id=run.run_id, request_event_id=event.event_id, detail=f"a new run was requested for {issue.key}"
    )


__all__ = ["Principal", "router"]
