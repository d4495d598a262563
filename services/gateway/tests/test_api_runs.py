"""The runs API over the projections: list and filters, detail, output cursor, live streams, costs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from gateway_run_events import TRACE_ID, RunScript
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import RunOutcome
from paid_gateway.auth.tokens import Role
from paid_gateway.projections import projector


async def project(sessions: async_sessionmaker[AsyncSession], *events: projector.RunEvent) -> None:
    for event in events:
        async with sessions() as session:
            await projector.apply(session, event)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_runs_are_listed_and_filtered(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    running, done = RunScript(), RunScript()
    await project(sessions, running.started(), done.started(), done.finished(RunOutcome.NO_CHANGES))
    headers = auth(role_tokens[Role.VIEWER])

    page = (await api.get("/api/runs", params={"repo": running.issue.repo.full_name}, headers=headers)).json()
    assert [r["run_id"] for r in page["runs"]] == [running.run_id]
    assert page["runs"][0]["status"] == "running"

    finished = (
        await api.get("/api/runs", params={"status": "no_changes", "limit": 500}, headers=headers)
    ).json()
    assert done.run_id in [r["run_id"] for r in finished["runs"]]
    assert running.run_id not in [r["run_id"] for r in finished["runs"]]
    active = (await api.get("/api/runs", params={"active": "true", "limit": 500}, headers=headers)).json()
    assert running.run_id in [r["run_id"] for r in active["runs"]]
    assert done.run_id not in [r["run_id"] for r in active["runs"]]


async def test_run_detail_has_steps_output_cost_and_links(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    run = RunScript()
    await project(sessions, run.started(), run.output(0, "one", "two"), run.pull_request(), run.finished())
    response = await api.get(f"/api/runs/{run.run_id}", headers=auth(role_tokens[Role.VIEWER]))
    assert response.status_code == 200
    detail = response.json()
    assert detail["status"] == "succeeded"
    assert (detail["prompt_version"], detail["cost_usd"], detail["output_tokens"]) == ("build-v1", 0.25, 200)
    assert detail["pull_request_number"] == 3
    assert detail["steps"][0]["type"] == "paid.run.started"
    assert [line["text"] for line in detail["output_tail"]] == ["one", "two"]
    assert detail["links"]["trace"] == f"http://traces.test/trace/{TRACE_ID}"
    workflow = "exec%3A" + run.issue.repo.owner + "%2F" + run.issue.repo.name + "%237"
    assert detail["links"]["temporal"] == (
        f"http://temporal-ui.test/namespaces/default/workflows/{workflow}/{run.run_id}/history"
    )


async def test_output_is_read_from_a_cursor(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    run = RunScript()
    await project(sessions, run.started(), run.output(0, "a", "b"))
    headers = auth(role_tokens[Role.VIEWER])
    first = (await api.get(f"/api/runs/{run.run_id}/output", headers=headers)).json()
    await project(sessions, run.output(1, "c"))
    later = await api.get(
        f"/api/runs/{run.run_id}/output", params={"after": first[-1]["id"]}, headers=headers
    )
    assert [line["text"] for line in first] == ["a", "b"]
    assert [line["text"] for line in later.json()] == ["c"]


async def test_unknown_run_is_a_clear_404(api: httpx.AsyncClient, role_tokens: dict[Role, str]) -> None:
    response = await api.get("/api/runs/no-such-run", headers=auth(role_tokens[Role.VIEWER]))
    assert response.status_code == 404
    assert response.json() == {"detail": "no run 'no-such-run' is known to the gateway"}


async def test_bad_query_is_a_clear_422(api: httpx.AsyncClient, role_tokens: dict[Role, str]) -> None:
    response = await api.get("/api/runs", params={"limit": "lots"}, headers=auth(role_tokens[Role.VIEWER]))
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("invalid request: query.limit:")
    assert body["errors"][0]["where"] == "query.limit"


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str, object]]:
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, json.loads(line.removeprefix("data: "))


async def test_output_stream_follows_the_run_and_ends_with_it(
    live_api: str, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    run = RunScript()
    await project(sessions, run.started(), run.output(0, "before we listened"))
    seen: list[str] = []
    ended: object = None
    async with (
        httpx.AsyncClient(base_url=live_api, timeout=20) as client,
        client.stream(
            "GET", f"/api/runs/{run.run_id}/output/stream", headers=auth(role_tokens[Role.VIEWER])
        ) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for event, data in _events(stream):
            if event == "output":
                assert isinstance(data, list)
                seen.extend(line["text"] for line in data)
                if seen == ["before we listened"]:
                    await project(
                        sessions, run.output(1, "while we listened"), run.finished(RunOutcome.CANCELLED)
                    )
            elif event == "end":
                ended = data
    assert seen == ["before we listened", "while we listened"]
    assert isinstance(ended, dict)
    assert ended["status"] == "cancelled"


async def test_runs_stream_announces_new_runs(
    live_api: str, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    run = RunScript()
    async with (
        httpx.AsyncClient(base_url=live_api, timeout=20) as client,
        client.stream("GET", "/api/runs/stream", headers=auth(role_tokens[Role.VIEWER])) as stream,
    ):
        async for event, data in _events(stream):
            if event == "ready":
                await project(sessions, run.started())
            if event == "run" and isinstance(data, dict) and data["run_id"] == run.run_id:
                assert data["status"] == "running"
                break
        else:
            raise AssertionError("the stream ended without announcing the run")


async def test_costs_per_project_and_day(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], role_tokens: dict[Role, str]
) -> None:
    run = RunScript()
    await project(sessions, run.finished(cost=1.5))
    costs = (await api.get("/api/costs", headers=auth(role_tokens[Role.VIEWER]))).json()["costs"]
    mine = [c for c in costs if c["project"] == run.issue.repo.full_name]
    assert mine == [
        {
            "project": run.issue.repo.full_name,
            "day": "2026-11-24",
            "runs": 1,
            "cost_usd": 1.5,
            "input_tokens": 1000,
            "output_tokens": 200,
        }
    ]
