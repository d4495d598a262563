"""PromptEvolutionWorkflow on Temporal's time-skipping test server, with every real activity against a
real PostgreSQL and NATS JetStream: days of durable timers pass in seconds."""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from fastapi import FastAPI
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from paid_contracts import (
    PromptCategory,
)
from paid_devstack import wait_until_async
from paid_devstack.test_servers import time_skipping_environment
from paid_evolution import api, experiments, registry
from paid_evolution.activities import EvolutionDeps
from paid_evolution.decisions import ExperimentSettings
from paid_evolution.llm_mutation import LlmMutationGenerator
from paid_evolution.mutation import reflection_prompt
from paid_evolution.params import EvolutionInput, EvolutionResult, MutationInput, SweepInput
from paid_evolution.testing import experiment_is_open, feed_experiment, record_outcome
from paid_evolution.worker import make_worker
from paid_evolution.workflows import EvolutionSweepWorkflow, PromptEvolutionWorkflow, evolution_workflow_id
from paid_llm import LLMSettings, Provider, make_client
from paid_llm_emulator import LLMEmulator

HISTORIES = Path(__file__).parent / "histories"
CODING = PromptCategory.CODING
T = TypeVar("T")


class ReflectiveDouble:
    """Stands in for the language model: writes k variants that quote the failures it was shown."""

    def __init__(self) -> None:
        self.requests: list[MutationInput] = []
        self.prompts: list[str] = []
        self.style = uuid.uuid4().hex[:6]  # each test's variants are new content, new versions

    async def generate(self, request: MutationInput) -> list[str]:
        self.requests.append(request)
        self.prompts.append(reflection_prompt(request))
        lesson = request.feedback[0].split(": ", 1)[1] if request.feedback else "none"
        return [
            f"{request.template}\nVariant {i} ({self.style}). Avoid what failed before ({lesson}).\n"
            for i in range(request.count)
        ]


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A test server per test: workflows a test leaves behind (their worker gone) would otherwise keep
    a later test's server from skipping time."""
    async with await time_skipping_environment() as environment:
        yield environment


@pytest.fixture
def generator() -> ReflectiveDouble:
    return ReflectiveDouble()


@pytest.fixture
async def worker(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    broker: NatsBroker,
    generator: ReflectiveDouble,
) -> AsyncIterator[Worker]:
    deps = EvolutionDeps(
        sessions=sessions,
        broker=broker,
        generator=generator,
        client=env.client,
        task_queue=f"evolution-test-{uuid.uuid4()}",
    )
    async with make_worker(env.client, deps) as running:
        yield running


def evolution_input(project: str, **experiment: float) -> EvolutionInput:
    settings = {"min_samples_per_arm": 15, "check_every_hours": 24, "max_days": 14, **experiment}
    return EvolutionInput(
        category=CODING,
        project=project,
        threshold=0.6,
        min_samples=10,
        mutations=2,
        experiment=ExperimentSettings.model_validate(settings),
    )


async def eventually(probe: Callable[[], Awaitable[T | None]], *, what: str, timeout: float = 30) -> T:
    deadline = asyncio.get_running_loop().time() + timeout
    while (value := await probe()) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def start(
    env: WorkflowEnvironment, worker: Worker, request: EvolutionInput
) -> WorkflowHandle[PromptEvolutionWorkflow, EvolutionResult]:
    return await env.client.start_workflow(
        PromptEvolutionWorkflow.run,
        request,
        id=evolution_workflow_id(request.category, request.project),
        task_queue=worker.task_queue,
    )


async def feed_once_open(
    sessions: async_sessionmaker[AsyncSession], project: str, *, winning_arm: str
) -> dict[str, str]:
    opened = functools.partial(experiment_is_open, sessions, project)
    await wait_until_async(opened, timeout=30, what="the experiment to start")
    return await feed_experiment(sessions, project, runs=140, winning_arm=winning_arm)


async def seed_failures(sessions: async_sessionmaker[AsyncSession], project: str, count: int = 12) -> None:
    for number in range(1, count + 1):
        await record_outcome(sessions, project, version="coding@1", merged=number % 4 == 0, number=number)


async def test_a_failing_prompt_is_mutated_tested_for_days_and_the_better_candidate_promoted(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: async_sessionmaker[AsyncSession],
    generator: ReflectiveDouble,
    project: str,
) -> None:
    await seed_failures(sessions, project)
    handle = await start(env, worker, evolution_input(project))
    versions = await feed_once_open(sessions, project, winning_arm="candidate-1")

    result = await handle.result()

    assert result.outcome == "promoted"
    assert result.winner_version == versions["candidate-1"]
    assert result.elapsed_days >= 1  # at least one daily check passed on the durable timer
    assert result.mean_score is not None
    assert result.mean_score < 0.6
    # The mutations were generated from the failed runs' feedback (reflectively).
    (request,) = generator.requests
    assert any("the tests still fail" in line for line in request.feedback)
    assert "the tests still fail" in generator.prompts[0]
    async with sessions() as session:
        active = await registry.active_version(session, category=CODING, project=project)
        assert active.id == versions["candidate-1"]
        assert active.parent_id == "coding@1"
        assert "reflective mutation" in active.reason
        loser = await registry.get_version(session, version_id=versions["candidate-2"])
        assert loser.status == "retired"

    if os.environ.get("PAID_RECORD_HISTORIES"):
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / "promoted.json").write_text((await handle.fetch_history()).to_json())


async def test_without_data_the_experiment_ends_inconclusive_after_its_days_and_the_control_stays(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession], project: str
) -> None:
    await seed_failures(sessions, project)
    handle = await start(env, worker, evolution_input(project, max_days=10))

    result = await handle.result()

    assert result.outcome == "inconclusive"
    assert 10 <= result.elapsed_days <= 11.1
    async with sessions() as session:
        assert (await registry.active_version(session, category=CODING, project=project)).id == "coding@1"
        for version_id in result.candidates:
            assert (await registry.get_version(session, version_id=version_id)).status == "retired"


async def test_a_project_that_requires_approval_promotes_only_when_approved(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession], project: str
) -> None:
    async with sessions() as session:
        await experiments.set_policy(session, project=project, require_approval=True)
    await seed_failures(sessions, project)
    handle = await start(env, worker, evolution_input(project))
    versions = await feed_once_open(sessions, project, winning_arm="candidate-2")

    await env.sleep(timedelta(hours=25))  # the first daily check runs and finds the winner

    async def waiting() -> bool | None:
        return True if await handle.query(PromptEvolutionWorkflow.stage) == "awaiting_approval" else None

    await eventually(waiting, what="the winner to wait for approval")
    async with sessions() as session:
        assert (await registry.active_version(session, category=CODING, project=project)).id == "coding@1"
    experiment_id = await handle.query(PromptEvolutionWorkflow.experiment_id)
    app = api.mount(FastAPI(), sessions, token="internal", temporal=env.client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://evolution",
        headers={"Authorization": "Bearer internal"},
    ) as http:
        answered = await http.post(f"/api/experiments/{experiment_id}/approval", json={"approved": True})
        assert answered.status_code == 200, answered.text

    result = await handle.result()

    assert (result.outcome, result.winner_version) == ("promoted", versions["candidate-2"])
    async with sessions() as session:
        assert (await registry.active_version(session, category=CODING, project=project)).id == versions[
            "candidate-2"
        ]


async def test_a_healthy_prompt_or_too_little_data_starts_nothing(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: async_sessionmaker[AsyncSession],
    generator: ReflectiveDouble,
    project: str,
) -> None:
    too_few = await env.client.execute_workflow(
        PromptEvolutionWorkflow.run,
        evolution_input(project),
        id=f"few-{project}",
        task_queue=worker.task_queue,
    )
    for number in range(1, 13):
        await record_outcome(sessions, project, version="coding@1", merged=True, number=number)
    healthy = await env.client.execute_workflow(
        PromptEvolutionWorkflow.run,
        evolution_input(project),
        id=f"ok-{project}",
        task_queue=worker.task_queue,
    )

    assert (too_few.outcome, too_few.samples) == ("too_few_samples", 0)
    assert (healthy.outcome, healthy.samples) == ("healthy", 12)
    assert healthy.mean_score is not None
    assert healthy.mean_score > 0.9
    assert generator.requests == []


async def test_the_sweep_starts_one_evolution_per_category_and_project(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession], project: str
) -> None:
    await record_outcome(sessions, project, version="coding@1", merged=True, number=1)
    # threshold 0: every target is healthy, so the sweep starts evolutions that end at once.
    defaults = EvolutionInput(category=CODING, project="-", threshold=0.0, min_samples=1)

    started = await env.client.execute_workflow(
        EvolutionSweepWorkflow.run,
        SweepInput(evolution=defaults),
        id=f"sweep-{project}",
        task_queue=worker.task_queue,
    )

    if os.environ.get("PAID_RECORD_HISTORIES"):
        sweep = await env.client.get_workflow_handle(f"sweep-{project}").fetch_history()
        (HISTORIES / "sweep.json").write_text(sweep.to_json())
    workflow_id = evolution_workflow_id(CODING, project)
    assert workflow_id in started
    result = await env.client.get_workflow_handle_for(PromptEvolutionWorkflow.run, workflow_id).result()
    assert result.outcome == "healthy"


@pytest.mark.parametrize("recorded", sorted(HISTORIES.glob("*.json")), ids=lambda path: path.stem)
async def test_recorded_histories_still_replay(recorded: Path) -> None:
    """Fails when a change would break evolutions already running (they run for weeks).

    Re-record (after a deliberate, versioned change) with PAID_RECORD_HISTORIES=1.
    """
    history = WorkflowHistory.from_json("recorded", recorded.read_text())
    replayer = Replayer(
        workflows=[PromptEvolutionWorkflow, EvolutionSweepWorkflow], data_converter=pydantic_data_converter
    )

    await replayer.replay_workflow(history)


async def test_the_model_writes_the_candidates_through_the_llm_layer(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], broker: NatsBroker, project: str
) -> None:
    good = "Issue {{ repo }}#{{ number }} on {{ branch }}: {{ title }}\n{{ body }}\nFor " + project + ".\n"
    bad = "Issue {{ repo }}: {{ secrets }}\n"  # a variable no caller provides: dropped, never stored
    await seed_failures(sessions, project)
    with LLMEmulator() as llm:
        llm.reply(
            f"<prompt>{good}</prompt>\n<prompt>{bad}</prompt>", contains="Reflect on what in the prompt"
        )
        settings = LLMSettings(
            provider=Provider.ANTHROPIC,
            base_url=llm.anthropic_base_url,
            model="claude-sonnet-4-5",
            api_key="k",
        )
        deps = EvolutionDeps(
            sessions=sessions,
            broker=broker,
            generator=LlmMutationGenerator(make_client(settings)),
            client=env.client,
            task_queue=f"evolution-llm-{uuid.uuid4()}",
        )
        async with make_worker(env.client, deps) as worker:
            result = await env.client.execute_workflow(
                PromptEvolutionWorkflow.run,
                evolution_input(project, max_days=2),
                id=evolution_workflow_id(CODING, project),
                task_queue=worker.task_queue,
            )
        (asked,) = llm.requests

    assert "the tests still fail" in asked.last_user_message
    assert result.outcome == "inconclusive"
    (candidate,) = result.candidates
    async with sessions() as session:
        version = await registry.get_version(session, version_id=candidate)
    assert (version.template, version.parent_id) == (good, "coding@1")
