"""The read API over a real PostgreSQL: prompts, versions, diffs, experiments with statistics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import PromptCategory, PromptPromoted
from paid_evolution import api, experiments, registry
from paid_evolution.decisions import ExperimentSettings
from paid_evolution.models import RunRecord

CODING = PromptCategory.CODING
TOKEN = "internal-token-of-the-gateway"
AS_GATEWAY = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def http(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx.AsyncClient]:
    app = api.mount(FastAPI(), sessions, token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://evolution", headers=AS_GATEWAY
    ) as client:
        yield client


async def test_versions_and_their_diff_against_the_parent(
    http: httpx.AsyncClient, session: AsyncSession, project: str
) -> None:
    child = await registry.register_version(
        session,
        category=CODING,
        template="{{ repo }}#{{ number }} {{ branch }} {{ title }}\n{{ body }}\n" + project,
        variables=("repo", "branch", "number", "title", "body"),
        parent_id="coding@1",
        reason="api test",
    )

    listed = (await http.get("/api/prompts/coding/versions")).json()
    diff = (await http.get(f"/api/versions/{child.id}/diff")).json()

    assert {"coding@1", child.id} <= {v["id"] for v in listed}
    assert diff["from"] == "coding@1"
    assert diff["diff"].endswith(f"+{project}")
    assert "-Resolve GitHub issue" in diff["diff"]
    assert (await http.get("/api/versions/coding@999")).status_code == 404
    assert (await http.get("/api/prompts/poetry/versions")).status_code == 422
    assert (await http.get("/api/versions/coding@1/diff")).status_code == 400  # a seed has no parent
    active = (await http.get("/api/prompts")).json()
    assert {"category": "coding", "project": "*", "version_id": "coding@1"} in [
        {k: a[k] for k in ("category", "project", "version_id")} for a in active
    ]


async def test_an_experiment_shows_each_arms_statistics(
    http: httpx.AsyncClient, session: AsyncSession, project: str
) -> None:
    candidate = await registry.register_version(
        session,
        category=CODING,
        template="{{ repo }}#{{ number }} {{ branch }} {{ title }}\n{{ body }}\nstats " + project,
        variables=("repo", "branch", "number", "title", "body"),
    )
    experiment = await experiments.start_experiment(
        session, category=CODING, project=project, candidates=[candidate.id], settings=ExperimentSettings()
    )
    now = datetime.now(UTC)
    for arm, scores in (("control", [0.0, 1.0, 0.0, 0.0]), ("candidate-1", [1.0, 1.0, 0.0, 1.0])):
        for score in scores:
            session.add(
                RunRecord(
                    run_id=str(uuid.uuid4()),
                    workflow_id="w",
                    repo=project,
                    issue=1,
                    agent="demo",
                    prompt_version="?",
                    outcome="succeeded",
                    started_at=now,
                    duration_seconds=1,
                    iterations=1,
                    recorded_at=now,
                    experiment_id=experiment.id,
                    arm=arm,
                    score=score,
                )
            )
    await session.commit()

    body = (await http.get(f"/api/experiments/{experiment.id}")).json()
    listed = (await http.get("/api/experiments", params={"project": project})).json()

    assert [e["id"] for e in listed] == [experiment.id]
    arms = {a["arm"]: a for a in body["arms"]}
    assert (arms["control"]["samples"], arms["control"]["mean_score"]) == (4, 0.25)
    assert arms["candidate-1"]["mean_score"] == 0.75
    assert arms["candidate-1"]["difference"] == pytest.approx(0.5)
    low, high = arms["candidate-1"]["interval"]
    assert low < 0.5 < high
    assert 0 < arms["candidate-1"]["p_value"] <= 1
    assert (await http.get("/api/experiments/nope")).status_code == 404


async def test_a_promotion_is_rolled_back_and_announced(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, broker: NatsBroker, project: str
) -> None:
    app = api.mount(FastAPI(), sessions, token=TOKEN, broker=broker)
    candidate = await registry.register_version(
        session,
        category=CODING,
        template="{{ repo }}#{{ number }} {{ branch }} {{ title }}\n{{ body }}\nrollback " + project,
        variables=("repo", "branch", "number", "title", "body"),
    )
    await registry.activate(session, version_id=candidate.id, project=project, reason="manual")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://evolution", headers=AS_GATEWAY
    ) as http:
        rolled = await http.post(f"/api/prompts/coding/projects/{project}/rollback")
        again = await http.post(f"/api/prompts/coding/projects/{project}/rollback")
        nothing = await http.post("/api/prompts/coding/projects/nobody/nothing/rollback")

    assert rolled.json() == {"from": candidate.id, "to": "coding@1"}
    assert again.status_code == 409  # a rollback is not undone by another
    assert nothing.status_code == 409
    async with sessions() as fresh:
        assert (await registry.active_version(fresh, category=CODING, project=project)).id == "coding@1"
    js = broker.connection.jetstream()
    info = await js.stream_info("PAID_EVOLUTION")
    last = await js.get_msg("PAID_EVOLUTION", info.state.last_seq)
    event = PromptPromoted.model_validate_json(last.data or b"")
    assert (event.project, event.version, event.previous_version, event.reason) == (
        project,
        "coding@1",
        candidate.id,
        "rollback",
    )


async def test_approving_an_experiment_that_waits_for_nothing_is_a_conflict(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, project: str
) -> None:
    candidate = await registry.register_version(
        session,
        category=CODING,
        template="{{ repo }}#{{ number }} {{ branch }} {{ title }}\n{{ body }}\napproval " + project,
        variables=("repo", "branch", "number", "title", "body"),
    )
    experiment = await experiments.start_experiment(
        session, category=CODING, project=project, candidates=[candidate.id], settings=ExperimentSettings()
    )
    app = api.mount(FastAPI(), sessions, token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://evolution", headers=AS_GATEWAY
    ) as http:
        running = await http.post(f"/api/experiments/{experiment.id}/approval", json={"approved": True})
        missing = await http.post("/api/experiments/nope/approval", json={"approved": True})
        malformed = await http.post(f"/api/experiments/{experiment.id}/approval", json={"approved": "maybe"})

    assert (running.status_code, missing.status_code, malformed.status_code) == (409, 404, 422)
