"""Admission of runs to a slot (admission.py has the rule, admission_store.py the queue). Run as local
activities: inside the workflow task that asks, so a run with room starts without a round trip to the
Temporal server (one database transaction only). The limits are read here, at each decision, so raising
one (or a budget) lets queued runs start."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from paid_contracts.budget_caps import BudgetCaps, project_key
from paid_executor import admission_store
from paid_executor.activities.deps import ExecutorDeps
from paid_executor.admission import Ticket, provider_of
from paid_executor.admission_store import BudgetScopes
from paid_executor.config import ExecutorSettings
from paid_executor.params import _Params
from paid_executor.project_budgets import caps_by_project, with_own_caps
from paid_executor.proxy.budgets import Scope

log = logging.getLogger(__name__)
LIVENESS_AGE_SECONDS = 60  # how often each other row is checked against Temporal, at most
LIVENESS_BATCH = 10


class AdmissionRequest(_Params):
    workflow_id: str
    project: str
    agent: str | None = None
    model: str | None = None
    requested_at: datetime


class AdmissionAnswer(_Params):
    admitted: bool
    position: int | None = None
    reason: str | None = None
    waiting: int = 0
    poll_seconds: float = 30


class ReleaseRequest(_Params):
    workflow_id: str


class ReleaseAnswer(_Params):
    wake: tuple[str, ...] = ()


class AdmissionActivities:
    def __init__(self, deps: ExecutorDeps) -> None:
        self.deps = deps

    @activity.defn(name="admit_run")
    async def admit_run(self, request: AdmissionRequest) -> AdmissionAnswer:
        settings = self.deps.settings
        ticket = Ticket(
            workflow_id=request.workflow_id,
            project=request.project,
            provider=provider_of(request.agent, request.model or settings.agent_model),
            requested_at=request.requested_at,
        )
        async with self.deps.sessions() as session:
            placement = await admission_store.admit(
                session, ticket, settings.admission_limits(), budget_scopes=await self._budgets(session)
            )
        if not placement.admitted:
            await self._release_ended(request.workflow_id)
        return AdmissionAnswer(
            admitted=placement.admitted,
            position=placement.position,
            reason=placement.reason,
            waiting=placement.waiting,
            poll_seconds=settings.admission_poll_seconds,
        )

    @activity.defn(name="release_run")
    async def release_run(self, request: ReleaseRequest) -> ReleaseAnswer:
        return ReleaseAnswer(wake=await self._release([request.workflow_id]))

    async def _release(self, workflow_ids: list[str]) -> tuple[str, ...]:
        async with self.deps.sessions() as session:
            return await admission_store.release(
                session,
                workflow_ids,
                self.deps.settings.admission_limits(),
                budget_scopes=await self._budgets(session),
            )

    async def _budgets(self, session: AsyncSession) -> BudgetScopes:
        """The projects' budgets now, whose exhaustion holds their runs back (none when budgets are off),
        with each project's own caps (set through the API) in place of the defaults."""
        own = await caps_by_project(session) if self.deps.settings.budgets_shared else {}
        return budget_scopes(self.deps.settings, own, datetime.now(UTC))

    async def _release_ended(self, besides: str) -> None:
        """Rows of runs Temporal no longer runs (terminated, or ended without releasing) would hold
        their slots or places for ever: a few of the oldest-checked are looked up and released."""
        async with self.deps.sessions() as session:
            ids = await admission_store.unchecked(
                session, besides=besides, age_seconds=LIVENESS_AGE_SECONDS, limit=LIVENESS_BATCH
            )
        if not ids:
            return
        client = activity.client()
        ended = []
        for workflow_id in ids:
            try:
                description = await client.get_workflow_handle(workflow_id).describe()
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    continue
                ended.append(workflow_id)
                continue
            if description.status != WorkflowExecutionStatus.RUNNING:
                ended.append(workflow_id)
        if ended:
            log.warning("releasing the admissions of runs that no longer run: %s", ", ".join(ended))
            await self._release(ended)


def budget_scopes(settings: ExecutorSettings, own: dict[str, BudgetCaps], now: datetime) -> BudgetScopes:
    """A project's budget scopes at `now`: the defaults of `settings`, each replaced by the project's own
    cap where it set one, as the metering proxy enforces them (launch.py)."""

    def scopes(project: str) -> tuple[Scope, ...]:
        policy = settings.spend_policy(project)
        if policy is None:
            return ()
        return with_own_caps(policy, own.get(project_key(project))).scopes(now)

    return scopes
