"""Projects' agent and model, kept by the executor from the gateway's snapshots on `paid.project.*`:
the newest version wins, so an older snapshot delivered late changes nothing, and a snapshot that names
no agent clears the project's choice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_contracts import IssueRef, ProjectRegistered, ProjectUpdated, RepoRef
from paid_devstack import wait_until_async
from paid_devstack.nats import NatsServer
from paid_executor import project_agents
from paid_executor.agents.choice import AgentChoiceError, kept_policy
from paid_executor.config import ExecutorSettings
from paid_executor.params import RunContext
from paid_executor.project_agents import ProjectAgent, project_agent, save_snapshot, with_project_agent_now
from paid_runtime.database import session_factory
from paid_runtime.messaging import make_broker, publish_event


def snapshot(
    project: str, version: int, agent: str | None = None, model: str | None = None
) -> ProjectUpdated:
    owner, name = project.split("/")
    return ProjectUpdated.model_validate(
        {
            "event_id": f"project:{project.lower()}:v{version}",
            "producer": "gateway",
            "project_id": project,
            "version": version,
            "repo": RepoRef(owner=owner, name=name),
            "poll_interval_seconds": 60,
            "agent": agent,
            "agent_model": model,
        }
    )


def a_project() -> str:
    return f"Acme/Agents-{uuid.uuid4().hex[:8]}"


async def test_the_newest_version_wins_and_none_clears(engine: AsyncEngine) -> None:
    project = a_project()

    assert await save_snapshot(engine, snapshot(project, 2, "codex", "gpt-5"))
    assert not await save_snapshot(engine, snapshot(project, 1, "gemini"))  # older, delivered late
    assert not await save_snapshot(engine, snapshot(project, 2, "aider"))  # the same version again
    assert await project_agent(engine, project.upper()) == ProjectAgent(2, "codex", "gpt-5")

    assert await save_snapshot(engine, snapshot(project, 3))
    assert await project_agent(engine, project) == ProjectAgent(3, None, None)
    assert await project_agent(engine, a_project()) is None


async def test_the_consumer_keeps_the_newest_snapshot(
    nats_server: NatsServer, broker: NatsBroker, engine: AsyncEngine
) -> None:
    executor = make_broker(nats_server.url, "executor-projects-test")
    project_agents.register(executor, engine)
    await executor.start()
    project, marker = a_project(), a_project()
    try:
        registered = snapshot(project, 1, "claude")
        await publish_event(broker, ProjectRegistered.model_validate(registered.model_dump(exclude={"type"})))
        await publish_event(broker, snapshot(project, 3, "codex", "gpt-5"))
        await publish_event(broker, snapshot(project, 2, "gemini"))
        await publish_event(broker, snapshot(marker, 1, "aider"))  # one consumer, in order: after the rest

        async def marker_kept() -> bool:
            return await project_agent(engine, marker) is not None

        await wait_until_async(marker_kept, timeout=30, what="the executor to keep the snapshots")
    finally:
        await executor.stop()

    assert await project_agent(engine, project) == ProjectAgent(3, "codex", "gpt-5")


async def test_a_follow_up_round_reads_the_projects_agent_when_it_starts(engine: AsyncEngine) -> None:
    """A round (or review mode) is not requested like a run: it takes the project's choice as kept at
    its start, so a change made since the pull request opened applies to its next round."""
    project = a_project()
    owner, name = project.split("/")
    run = RunContext(
        run_id="r",
        workflow_id="conv",
        issue=IssueRef(repo=RepoRef(owner=owner, name=name), number=1),
        agent="claude",
        prompt_version="round@1",
        started_at=datetime.now(UTC),
    )
    sessions = session_factory(engine)
    assert await with_project_agent_now(sessions, run) == run
    await save_snapshot(engine, snapshot(project, 1, "codex", "gpt-5"))
    kept = await with_project_agent_now(sessions, run)
    assert (kept.agent, kept.project_agent, kept.project_model) == ("claude", "codex", "gpt-5")


def test_the_projects_agent_is_held_to_the_allowed_agents_wherever_it_is_used() -> None:
    settings = ExecutorSettings(agent="claude", agent_model="claude-sonnet-4-5", allowed_agents=["codex"])
    own = kept_policy(settings, run_agent="claude", project_agent=None, project_model=None)
    assert (own.agent, own.model) == ("claude", "claude-sonnet-4-5")
    codex = kept_policy(settings, run_agent="claude", project_agent="codex", project_model="gpt-5")
    assert (codex.agent, codex.model) == ("codex", "gpt-5")
    with pytest.raises(AgentChoiceError, match="not one this Paid allows"):
        kept_policy(settings, run_agent="claude", project_agent="gemini", project_model=None)
