"""Project scopes on evolution's routes: a token scoped to one project cannot see, approve, reject or
roll back another project's experiments or prompts, and each refused action is audited. Evolution is
stood in for (evolution_stand_in.Evolution) with a second project's experiment beside acme/calc's."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from evolution_stand_in import INTERNAL_TOKEN, Evolution, serve_evolution
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway.app import create_app
from paid_gateway.auth.repo import create_token
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings
from paid_runtime.messaging import publish_event

OTHER = "other/secret"


class TwoProjects(Evolution):
    """acme/calc's experiment exp-1, and exp-2 of another project; records every path it is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []
        self.active.append({**self.active[0], "project": OTHER, "version_id": "coding@2"})
        self.other = {**self.experiment, "id": "exp-2", "project": OTHER}

    def read(self, rest: str) -> Any:
        self.asked.append(rest)
        if rest == "experiments":
            return [*super().read(rest), {k: v for k, v in self.other.items() if k != "arms"}]
        if rest == "experiments/exp-2":
            return self.other
        return super().read(rest)


@pytest.fixture
async def evolution() -> AsyncIterator[tuple[TwoProjects, str]]:
    stand_in = TwoProjects()
    async with serve_evolution(stand_in) as (_, url):
        yield stand_in, url


@pytest.fixture
async def gateway(
    api_settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    evolution: tuple[TwoProjects, str],
) -> AsyncIterator[httpx.AsyncClient]:
    settings = api_settings.model_copy(
        update={"evolution_api_url": evolution[1], "evolution_api_token": INTERNAL_TOKEN}
    )
    app = create_app(settings, publisher=functools.partial(publish_event, broker), sessions=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        yield client


async def token(
    sessions: async_sessionmaker[AsyncSession], role: Role, projects: list[str] | None
) -> dict[str, str]:
    async with sessions() as session:
        _, secret = await create_token(session, name=f"scoped-{role.value}", role=role, projects=projects)
    return {"Authorization": f"Bearer {secret}"}


async def test_a_token_scoped_to_one_project_never_reaches_anothers_experiments(
    gateway: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], evolution: tuple[TwoProjects, str]
) -> None:
    stand_in = evolution[0]
    calc = await token(sessions, Role.OPERATOR, ["ACME/calc"])  # scopes match in any case

    listed = (await gateway.get("/api/evolution/experiments", headers=calc)).json()
    prompts = (await gateway.get("/api/evolution/prompts", headers=calc)).json()
    hidden = await gateway.get("/api/evolution/experiments/exp-2", headers=calc)
    approve = await gateway.post(
        "/api/evolution/experiments/exp-2/approval", json={"approved": True}, headers=calc
    )
    reject = await gateway.post(
        "/api/evolution/experiments/nope/approval", json={"approved": False}, headers=calc
    )
    rollback = await gateway.post(f"/api/evolution/prompts/coding/projects/{OTHER}/rollback", headers=calc)
    every_record = await gateway.get("/api/evolution/audit", headers=calc)
    others_records = await gateway.get("/api/evolution/audit", params={"target": "exp-2"}, headers=calc)

    assert [x["id"] for x in listed] == ["exp-1"]
    assert {p["project"] for p in prompts} == {"*"}  # acme/calc has no version of its own yet
    assert (hidden.status_code, approve.status_code, reject.status_code) == (404, 404, 404)
    assert "exp-2" not in hidden.text.replace("'exp-2'", "")  # nothing of it but the id asked for
    assert rollback.status_code == 404
    assert (every_record.status_code, others_records.status_code) == (403, 403)
    assert stand_in.approvals == []
    assert not [path for path in stand_in.asked if path.endswith(("/approval", "/rollback"))]

    admin = {"Authorization": "Bearer bootstrap-admin-token-for-the-gateway-tests"}
    refused = (await gateway.get("/api/evolution/audit", params={"target": "exp-2"}, headers=admin)).json()
    assert [(r["action"], r["status"], r["actor"]) for r in refused][:1] == [
        ("experiment.approve", 404, "scoped-operator")
    ]
    assert "refused by the gateway" in refused[0]["detail"]


async def test_a_scoped_operator_acts_on_its_own_project(
    gateway: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], evolution: tuple[TwoProjects, str]
) -> None:
    calc = await token(sessions, Role.OPERATOR, ["acme/calc"])
    everyone = await token(sessions, Role.VIEWER, None)

    approved = await gateway.post(
        "/api/evolution/experiments/exp-1/approval", json={"approved": True}, headers=calc
    )
    records = await gateway.get("/api/evolution/audit", params={"target": "exp-1"}, headers=calc)
    prompts = (await gateway.get("/api/evolution/prompts", headers=calc)).json()
    unscoped = (await gateway.get("/api/evolution/experiments", headers=everyone)).json()

    assert approved.status_code == 200, approved.text
    assert evolution[0].approvals == [b'{"approved":true}']
    assert records.status_code == 200
    assert records.json()[0]["action"] == "experiment.approve"
    assert {p["project"] for p in prompts} == {"*", "acme/calc"}
    assert [x["id"] for x in unscoped] == ["exp-1", "exp-2"]


async def test_a_comparison_starts_only_on_a_project_the_token_reaches(
    gateway: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], evolution: tuple[TwoProjects, str]
) -> None:
    calc = await token(sessions, Role.OPERATOR, ["acme/calc"])
    viewer = await token(sessions, Role.VIEWER, None)
    arms = {"category": "coding", "candidates": [{"agent": "codex"}]}

    elsewhere = await gateway.post(
        "/api/evolution/experiments", json={**arms, "project": OTHER}, headers=calc
    )
    unnamed = await gateway.post("/api/evolution/experiments", json=arms, headers=calc)
    read_only = await gateway.post(
        "/api/evolution/experiments", json={**arms, "project": "acme/calc"}, headers=viewer
    )
    own = await gateway.post(
        "/api/evolution/experiments", json={**arms, "project": "acme/calc"}, headers=calc
    )
    records = await gateway.get("/api/evolution/audit", params={"target": "coding:acme/calc"}, headers=calc)

    assert (elsewhere.status_code, unnamed.status_code, read_only.status_code) == (404, 404, 403)
    assert (own.status_code, own.json()) == (202, {"experiment_id": "exp-3"})
    assert evolution[0].comparisons == [{**arms, "project": "acme/calc"}]
    admin = {"Authorization": "Bearer bootstrap-admin-token-for-the-gateway-tests"}
    target = f"coding:{OTHER}"
    audited = (await gateway.get("/api/evolution/audit", params={"target": target}, headers=admin)).json()
    mine = [r for r in records.json() if r["actor"] == "scoped-operator"]  # other tests start some too
    assert [r["status"] for r in audited if r["action"] == "experiment.start"] == [404]
    assert [r["status"] for r in mine if r["action"] == "experiment.start"] == [202]


async def test_tokens_are_created_with_their_projects(gateway: httpx.AsyncClient) -> None:
    admin = {"Authorization": "Bearer bootstrap-admin-token-for-the-gateway-tests"}
    made = await gateway.post(
        "/api/tokens", json={"name": "calc-ops", "role": "operator", "projects": ["Acme/Calc"]}, headers=admin
    )
    bad = await gateway.post(
        "/api/tokens", json={"name": "x", "role": "viewer", "projects": ["../etc"]}, headers=admin
    )
    none = await gateway.post(
        "/api/tokens", json={"name": "x", "role": "viewer", "projects": []}, headers=admin
    )

    assert made.status_code == 201, made.text
    assert made.json()["projects"] == ["acme/calc"]
    me = await gateway.get("/api/me", headers={"Authorization": f"Bearer {made.json()['token']}"})
    assert me.json()["projects"] == ["acme/calc"]
    assert (bad.status_code, none.status_code) == (422, 422)  # no project at all would reach nothing
