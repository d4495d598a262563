"""A person's comparison of arms (`POST /api/experiments`, through the gateway as
`/api/evolution/experiments` and `paid experiments start`): checked at once (bad input is a 422 that
says why, a target already being evolved a 409), then evaluated, concluded and promoted by the target's
evolution workflow like a mutation's experiment, on Temporal's time-skipping server with every real
activity."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import PromptCategory
from paid_devstack import wait_until_async
from paid_devstack.test_servers import time_skipping_environment
from paid_evolution import api, experiments
from paid_evolution.activities import EvolutionDeps
from paid_evolution.models import Experiment
from paid_evolution.params import EvolutionInput
from paid_evolution.worker import make_worker
from paid_evolution.workflows import PromptEvolutionWorkflow, evolution_workflow_id

from .test_agent_arm_experiments import NoMutations, add_scores

CODING = PromptCategory.CODING
SETTINGS = {"min_samples_per_arm": 30, "max_samples_per_arm": 400, "check_every_hours": 24, "max_days": 14}


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with await time_skipping_environment() as environment:
        yield environment


@pytest.fixture
async def worker(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], broker: NatsBroker
) -> AsyncIterator[Worker]:
    deps = EvolutionDeps(
        sessions=sessions,
        broker=broker,
        generator=NoMutations(),
        client=env.client,
        task_queue=f"evolution-test-{uuid.uuid4()}",
    )
    async with make_worker(env.client, deps) as running:
        yield running


async def ask(
    sessions: async_sessionmaker[AsyncSession], client: Client, task_queue: str, body: dict[str, Any]
) -> httpx.Response:
    app = api.mount(FastAPI(), sessions, token="gateway-token", temporal=client, task_queue=task_queue)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": "Bearer gateway-token"}
    async with httpx.AsyncClient(transport=transport, base_url="http://e", headers=headers) as http:
        return await http.post("/api/experiments", json=body)


def codex_against_claude(target: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "coding",
        "project": target,
        "control": {"agent": "claude"},
        "candidates": [{"agent": "codex", "model": "gpt-5-codex"}],
        "settings": SETTINGS,
    }
    return body | changes


async def test_a_comparison_of_agents_runs_to_a_promotion_of_the_better_one(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    project: str,
) -> None:
    answer = await ask(sessions, env.client, worker.task_queue, codex_against_claude(project))
    assert answer.status_code == 202, answer.text
    experiment_id = answer.json()["experiment_id"]
    handle = env.client.get_workflow_handle_for(
        PromptEvolutionWorkflow.run, evolution_workflow_id(CODING, project)
    )

    async def opened() -> Experiment | None:
        async with sessions() as fresh:
            return await fresh.get(Experiment, experiment_id)

    experiment = await wait_for(opened)
    again = await ask(sessions, env.client, worker.task_queue, codex_against_claude(project))
    assert (again.status_code, "is open" in again.text) == (409, True)
    arms = await experiments.arms_of(session, experiment_id=experiment_id)
    assert [(arm.arm, arm.agent, arm.model) for arm in arms] == [
        ("candidate-1", "codex", "gpt-5-codex"),
        ("control", "claude", None),
    ]
    await add_scores(session, experiment, "control", [1.0] * 50 + [0.0] * 50)
    await add_scores(session, experiment, "candidate-1", [1.0] * 300)

    # The API started the workflow, so this handle is not the test server's time-skipping one: the day
    # until the first evaluation is skipped by hand, then the workflow is waited for.
    await env.sleep(timedelta(days=1, hours=1))

    async def ended() -> bool:
        return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING

    await wait_until_async(ended, timeout=60, what="the comparison to conclude")
    result = await handle.result()

    assert (result.outcome, result.experiment_id, result.active_version) == (
        "promoted",
        experiment_id,
        "coding@1",
    )
    resolved = await experiments.resolve_arm(session, category=CODING, project=project, run_key="after")
    assert (resolved.experiment_id, resolved.agent, resolved.model) == (None, "codex", "gpt-5-codex")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"candidates": [{"agent": "$(id)"}]}, "plain name"),
        ({"candidates": [{"version_id": "coding@999"}]}, "no prompt version"),
        ({"candidates": [{"agent": "claude"}]}, "cannot be a candidate"),
        ({"candidates": [{"agent": "codex", "command": "rm -rf /"}]}, "extra"),
        ({"candidates": []}, "at least 1"),
        ({"settings": {"alpha": 2}}, "alpha"),
        ({"project": "not a repository"}, "project"),
    ],
)
async def test_bad_arms_are_refused_with_a_reason_and_start_nothing(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    project: str,
    change: dict[str, Any],
    says: str,
) -> None:
    answer = await ask(sessions, env.client, "no-worker", codex_against_claude(project, **change))
    assert answer.status_code == 422, answer.text
    assert says in answer.text
    assert await experiments.open_experiment(session, category=CODING, project=project) is None


async def test_a_target_already_being_evolved_is_a_conflict(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], project: str
) -> None:
    """An evolution still judging or mutating (no experiment open yet) holds the target's workflow id."""
    running = await env.client.start_workflow(
        PromptEvolutionWorkflow.run,
        EvolutionInput(category=CODING, project=project),
        id=evolution_workflow_id(CODING, project),
        task_queue=f"nobody-polls-{uuid.uuid4()}",
    )
    try:
        answer = await ask(sessions, env.client, "no-worker", codex_against_claude(project))
    finally:
        await running.terminate()
    assert answer.status_code == 409, answer.text
    assert "is running" in answer.json()["detail"]


async def wait_for(probe: Any) -> Any:
    found: list[Any] = []

    async def present() -> bool:
        value = await probe()
        if value is not None:
            found.append(value)
        return value is not None

    await wait_until_async(present, timeout=30, what="the comparison's experiment")
    return found[-1]
