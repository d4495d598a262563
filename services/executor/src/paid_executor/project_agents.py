"""Projects' agent and model (`executor.project_agents`), kept from the gateway's project snapshots
(`paid.project.*`, durable consumer `executor-projects`): the newest snapshot version wins, so a
redelivered or reordered older one changes nothing. A project without a row, or whose snapshot names
no agent, uses the executor's own PAID_EXECUTOR_AGENT and PAID_EXECUTOR_AGENT_MODEL.

The gateway checked the snapshot when the admin set it; the executor checks again when a run starts
(agents.choice), as the allowed agents are the executor's setting, not the gateway's."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from faststream.nats import NatsBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import ProjectSnapshot
from paid_contracts.budget_caps import project_key
from paid_contracts.subjects import STREAM_PROJECT
from paid_executor.params import ExecutionInput, RunContext
from paid_runtime.messaging import STREAMS
from paid_runtime.subscriptions import durable_subscriber

log = logging.getLogger(__name__)
SERVICE = "executor"

SELECT_ONE = text("SELECT version, agent, agent_model FROM executor.project_agents WHERE project = :project")
UPSERT_NEWER = text(
    """
    INSERT INTO executor.project_agents (project, version, agent, agent_model, updated_at)
    VALUES (:project, :version, :agent, :agent_model, now())
    ON CONFLICT (project) DO UPDATE
    SET version = EXCLUDED.version, agent = EXCLUDED.agent, agent_model = EXCLUDED.agent_model,
        updated_at = EXCLUDED.updated_at
    WHERE executor.project_agents.version < EXCLUDED.version
    """
)


@dataclass(frozen=True)
class ProjectAgent:
    version: int
    agent: str | None
    agent_model: str | None


async def save_snapshot(engine: AsyncEngine, snapshot: ProjectSnapshot) -> bool:
    """Stores the snapshot's agent and model unless a newer version is kept; returns whether it did."""
    values = {
        "project": project_key(snapshot.project_id),
        "version": snapshot.version,
        "agent": snapshot.agent,
        "agent_model": snapshot.agent_model,
    }
    async with engine.begin() as connection:
        result = await connection.execute(UPSERT_NEWER, values)
    return bool(result.rowcount)


async def project_agent(engine: AsyncEngine, project: str) -> ProjectAgent | None:
    async with engine.connect() as connection:
        return await _kept(connection, project)


async def _kept(source: AsyncConnection | AsyncSession, project: str) -> ProjectAgent | None:
    row = (await source.execute(SELECT_ONE, {"project": project_key(project)})).first()
    return None if row is None else ProjectAgent(int(row[0]), row[1], row[2])


def register(broker: NatsBroker, engine: AsyncEngine) -> None:
    @durable_subscriber(
        broker,
        service=SERVICE,
        name="projects",
        subject="paid.project.>",
        stream=STREAMS[STREAM_PROJECT.name],
    )
    async def on_project(event: ProjectSnapshot) -> None:
        if await save_snapshot(engine, event):
            log.info(
                "project %s v%d: agent %s, model %s",
                event.project_id,
                event.version,
                event.agent,
                event.agent_model,
            )
        else:
            log.info("project %s v%d is older than the one kept; ignored", event.project_id, event.version)


async def with_project_agent(engine: AsyncEngine, request: ExecutionInput) -> ExecutionInput:
    """The request with the project's agent and model as kept now: a later change never alters a run
    already requested."""
    kept = await project_agent(engine, request.issue.repo.full_name)
    if kept is None:
        return request
    return request.model_copy(update={"project_agent": kept.agent, "project_model": kept.agent_model})


async def kept_now(sessions: async_sessionmaker[AsyncSession], project: str) -> ProjectAgent | None:
    """The project's agent and model as kept at this moment (a run fixes them when it is requested; a
    follow-up round and review mode read them when they start)."""
    async with sessions() as session:
        return await _kept(session, project)


async def with_project_agent_now(sessions: async_sessionmaker[AsyncSession], run: RunContext) -> RunContext:
    """A follow-up round's run with the project's agent and model as kept now; the round then chooses as
    a run does (agents/choice.py)."""
    kept = await kept_now(sessions, run.issue.repo.full_name)
    if kept is None:
        return run
    return run.model_copy(update={"project_agent": kept.agent, "project_model": kept.agent_model})
