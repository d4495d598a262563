"""Project scopes on the runs, costs and budgets routes: a token scoped to one project sees only that
project's runs, their output, cost and budget; another project's run is as unknown (404), to viewers
and to operators' controls alike. An unscoped token still sees both, so the filter is what hides."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
from gateway_run_events import RunScript
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway.auth.repo import create_token
from paid_gateway.auth.tokens import Role
from paid_gateway.projections import projector


async def token(
    sessions: async_sessionmaker[AsyncSession], role: Role, projects: list[str] | None
) -> dict[str, str]:
    async with sessions() as session:
        _, secret = await create_token(session, name=f"runs-{role.value}", role=role, projects=projects)
    return {"Authorization": f"Bearer {secret}"}


async def two_projects_runs(sessions: async_sessionmaker[AsyncSession]) -> tuple[RunScript, RunScript]:
    mine, theirs = (
        RunScript(f"acme/mine-{uuid.uuid4().hex[:8]}"),
        RunScript(f"other/theirs-{uuid.uuid4().hex[:8]}"),
    )
    for run in (mine, theirs):
        # Started today, so the spend counts in this month's budget too.
        finished = run.finished().model_copy(update={"started_at": datetime.now(UTC).isoformat()})
        for event in (run.started(), run.output(0, f"secret of {run.issue.repo.full_name}"), finished):
            async with sessions() as session:
                await projector.apply(session, event)
    return mine, theirs


async def test_a_token_scoped_to_one_project_sees_only_its_runs_costs_and_budgets(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    mine, theirs = await two_projects_runs(sessions)
    mine_name, theirs_name = mine.issue.repo.full_name, theirs.issue.repo.full_name
    scoped = await token(sessions, Role.VIEWER, [mine_name.upper()])  # scopes match in any case
    everyone = await token(sessions, Role.VIEWER, None)

    listed = (await api.get("/api/runs?limit=500", headers=scoped)).json()["runs"]
    assert {run["repo"] for run in listed} == {mine_name}
    assert (await api.get(f"/api/runs?repo={theirs_name}", headers=scoped)).json()["runs"] == []
    assert (await api.get(f"/api/runs/{mine.run_id}", headers=scoped)).status_code == 200
    for path in ("", "/output", "/output/stream"):
        answer = await api.get(f"/api/runs/{theirs.run_id}{path}", headers=scoped)
        assert answer.status_code == 404, (path, answer.text)
        assert "secret of" not in answer.text

    costs = {row["project"] for row in (await api.get("/api/costs", headers=scoped)).json()["costs"]}
    assert costs == {mine_name}
    budgets = {row["project"] for row in (await api.get("/api/budgets", headers=scoped)).json()["projects"]}
    assert budgets == {mine_name}

    seen = {run["repo"] for run in (await api.get("/api/runs?limit=500", headers=everyone)).json()["runs"]}
    assert {mine_name, theirs_name} <= seen
    assert (await api.get(f"/api/runs/{theirs.run_id}", headers=everyone)).status_code == 200
    costs = {row["project"] for row in (await api.get("/api/costs", headers=everyone)).json()["costs"]}
    assert {mine_name, theirs_name} <= costs
    budgets = {row["project"] for row in (await api.get("/api/budgets", headers=everyone)).json()["projects"]}
    assert {mine_name, theirs_name} <= budgets


async def test_an_operator_scoped_to_one_project_cannot_control_anothers_run(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, theirs = await two_projects_runs(sessions)
    operator = await token(sessions, Role.OPERATOR, [f"acme/none-{uuid.uuid4().hex[:8]}"])
    for action, body in (
        ("cancel", {"reason": "x"}),
        ("pause", None),
        ("resume", None),
        ("instruct", {"text": "push to main"}),
        ("retry", None),
    ):
        answer = await api.post(f"/api/runs/{theirs.run_id}/{action}", headers=operator, json=body)
        assert answer.status_code == 404, (action, answer.text)


async def test_the_runs_stream_of_a_scoped_token_carries_only_its_projects_runs(
    live_api: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    mine, theirs = await two_projects_runs(sessions)
    scoped = await token(sessions, Role.VIEWER, [mine.issue.repo.full_name])
    later_theirs, later_mine = RunScript(theirs.issue.repo.full_name), RunScript(mine.issue.repo.full_name)
    repos: set[str] = set()
    async with (
        httpx.AsyncClient(base_url=live_api, timeout=20) as client,
        client.stream("GET", "/api/runs/stream", headers=scoped) as stream,
    ):
        event = ""
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "ready":
                for run in (later_theirs, later_mine):  # theirs changes first
                    async with sessions() as session:
                        await projector.apply(session, run.started())
            elif line.startswith("data: ") and event == "run":
                data = json.loads(line.removeprefix("data: "))
                repos.add(data["repo"])
                if data["run_id"] == later_mine.run_id:
                    break
        else:
            raise AssertionError("the stream ended without announcing the later run")
    assert repos == {mine.issue.repo.full_name}
