"""Evolution's API for the gateway: prompts, versions, diffs, experiments with their statistics,
rollbacks and approvals.

Trust boundary: the caller is the gateway, which serves these routes to the dashboard and the CLI under
its own API tokens and roles (`/api/evolution/...`). Every route here requires the internal token the
two services share (`PAID_EVOLUTION_API_TOKEN` = `PAID_GATEWAY_EVOLUTION_API_TOKEN`); without it, or
while none is configured, the answer is 401. Health and metrics are served apart and reveal no data.
"""

from __future__ import annotations

import difflib
import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from paid_contracts import PromptCategory
from paid_evolution import experiments, operations, registry
from paid_evolution.decisions import CONTROL
from paid_evolution.models import ActivePrompt, Experiment, ExperimentArm
from paid_evolution.public import (
    ActivePublic,
    ApprovalAnswer,
    ArmPublic,
    ComparisonRequest,
    ExperimentPublic,
    VersionPublic,
    experiment_public,
)
from paid_evolution.stats import ArmSample, compare


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.evolution_sessions
    async with sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session)]
bearer = HTTPBearer(auto_error=False, description="the internal token shared with the gateway")


async def _internal_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    expected: str = request.app.state.evolution_api_token
    presented = credentials.credentials if credentials else ""
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "evolution's API answers the gateway only: send its internal token",
            {"WWW-Authenticate": "Bearer"},
        )


def make_router() -> APIRouter:
    router = APIRouter(prefix="/api", dependencies=[Depends(_internal_caller)])

    @router.get("/prompts")
    async def active_prompts(session: SessionDep) -> list[ActivePublic]:
        rows = await session.exec(
            select(ActivePrompt).order_by(col(ActivePrompt.category), col(ActivePrompt.project))
        )
        return [ActivePublic.model_validate(row, from_attributes=True) for row in rows.all()]

    @router.get("/prompts/{category}/versions")
    async def versions(category: PromptCategory, session: SessionDep) -> list[VersionPublic]:
        found = await registry.list_versions(session, category=category)
        return [VersionPublic.model_validate(v, from_attributes=True) for v in found]

    @router.get("/versions/{version_id}")
    async def version(version_id: str, session: SessionDep) -> VersionPublic:
        try:
            return VersionPublic.model_validate(
                await registry.get_version(session, version_id=version_id), from_attributes=True
            )
        except registry.RegistryError as error:
            raise HTTPException(404, str(error)) from None

    @router.get("/versions/{version_id}/diff")
    async def diff(
        version_id: str, session: SessionDep, against: Annotated[str | None, Query()] = None
    ) -> dict[str, str]:
        """Unified diff from `against` (default: the version's parent) to the version."""
        try:
            new = await registry.get_version(session, version_id=version_id)
            base_id = against or new.parent_id
            if base_id is None:
                raise HTTPException(400, f"{version_id} has no parent: name one with ?against=")
            old = await registry.get_version(session, version_id=base_id)
        except registry.RegistryError as error:
            raise HTTPException(404, str(error)) from None
        lines = difflib.unified_diff(
            old.template.splitlines(keepends=True), new.template.splitlines(keepends=True), old.id, new.id
        )
        return {"from": old.id, "to": new.id, "diff": "".join(lines)}

    @router.get("/experiments")
    async def list_experiments(
        session: SessionDep,
        project: Annotated[str | None, Query()] = None,
        status: Annotated[str | None, Query()] = None,
    ) -> list[ExperimentPublic]:
        query = select(Experiment).order_by(col(Experiment.started_at).desc())
        if project is not None:
            query = query.where(Experiment.project == project)
        if status is not None:
            query = query.where(Experiment.status == status)
        rows = (await session.exec(query)).all()
        decided = [row.id for row in rows if row.winner_version is not None]
        arms: dict[str, list[ExperimentArm]] = {}
        if decided:
            found = await session.exec(
                select(ExperimentArm).where(col(ExperimentArm.experiment_id).in_(decided))
            )
            for arm in found.all():
                arms.setdefault(arm.experiment_id, []).append(arm)
        return [experiment_public(row, arms.get(row.id, [])) for row in rows]

    @router.get("/experiments/{experiment_id}")
    async def experiment(experiment_id: str, session: SessionDep) -> ExperimentPublic:
        row = await session.get(Experiment, experiment_id)
        if row is None:
            raise HTTPException(404, f"no experiment {experiment_id!r}")
        arms = await experiments.arms_of(session, experiment_id=experiment_id)
        public = experiment_public(row, arms)
        samples = await experiments.samples(session, experiment_id=experiment_id)
        control = samples.get(CONTROL, ArmSample())
        alpha = public.settings.alpha / max(1, len(arms) - 1)
        for arm in arms:
            sample = samples.get(arm.arm, ArmSample())
            entry = ArmPublic(
                arm=arm.arm,
                version_id=arm.version_id,
                weight=arm.weight,
                stopped=arm.stopped_at is not None,
                stop_reason=arm.stop_reason,
                samples=sample.n,
                mean_score=sample.mean,
                agent=arm.agent,
                model=arm.model,
            )
            if arm.arm != CONTROL and sample.n and control.n:
                comparison = compare(control, sample, alpha=alpha, tau2=public.settings.tau2)
                entry.difference = comparison.difference
                entry.interval = (comparison.lower, comparison.upper)
                entry.p_value = comparison.p_value
            public.arms.append(entry)
        return public

    @router.post("/prompts/{category}/projects/{project:path}/rollback")
    async def rollback(category: PromptCategory, project: str, request: Request) -> dict[str, str]:
        state = request.app.state
        try:
            current, restored = await operations.rollback(
                state.evolution_sessions, state.evolution_broker, category=category, project=project
            )
        except registry.RegistryError as error:
            raise HTTPException(409, str(error)) from None
        return {"from": current, "to": restored}

    @router.post("/experiments", status_code=status.HTTP_202_ACCEPTED)
    async def start_comparison(asked: ComparisonRequest, request: Request) -> dict[str, str]:
        """Starts a person's comparison of arms (prompt versions, agents, models); its experiment is then
        evaluated, concluded and approved like any other."""
        state = request.app.state
        try:
            experiment_id = await operations.start_comparison(
                state.evolution_sessions,
                state.evolution_temporal,
                task_queue=state.evolution_task_queue,
                category=asked.category,
                project=asked.project,
                control=asked.control,
                candidates=asked.candidates,
                settings=asked.settings,
            )
        except (ValueError, registry.RegistryError) as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        except (experiments.ExperimentAlreadyOpenError, operations.EvolutionBusyError) as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
        return {"experiment_id": experiment_id}

    @router.post("/experiments/{experiment_id}/approval")
    async def approval(experiment_id: str, answer: ApprovalAnswer, request: Request) -> dict[str, str]:
        state = request.app.state
        try:
            await operations.answer_approval(
                state.evolution_sessions,
                state.evolution_temporal,
                experiment_id=experiment_id,
                approved=answer.approved,
            )
        except LookupError as error:
            raise HTTPException(404, str(error)) from None
        except ValueError as error:
            raise HTTPException(409, str(error)) from None
        return {"experiment_id": experiment_id, "answer": "approved" if answer.approved else "rejected"}

    return router


def mount(
    app: FastAPI,
    sessions: async_sessionmaker[AsyncSession],
    *,
    token: str,
    broker: NatsBroker | None = None,
    temporal: Client | None = None,
    task_queue: str = "evolution",
) -> FastAPI:
    """The read routes need only the database; rollback needs the broker, approval and comparisons the
    Temporal client (comparisons start on `task_queue`).
    `token`: the internal token callers must present; empty refuses every call."""
    app.state.evolution_api_token = token
    app.state.evolution_sessions = sessions
    app.state.evolution_broker = broker
    app.state.evolution_temporal = temporal
    app.state.evolution_task_queue = task_queue
    app.include_router(make_router())
    return app
