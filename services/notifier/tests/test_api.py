"""The channels API: only the internal token, a 422 naming the field for a bad channel, no secret out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from paid_notifier import api
from paid_notifier.store import Store

TOKEN = "notifier-internal-token-0123456789"


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = api.mount(FastAPI(), Store(engine), token=TOKEN)
    transport = httpx.ASGITransport(app=app)
    headers = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier", headers=headers) as client:
        yield client


async def test_a_channel_is_set_listed_without_its_secret_and_removed(client: httpx.AsyncClient) -> None:
    hook = {"name": "ops", "kind": "webhook", "target": "https://ops.example/paid", "secret": "s" * 20}
    slack = {"name": "team", "kind": "slack", "target": "https://hooks.slack.example/T0/B0/xyz"}
    assert (await client.put("/api/channels/ops", json=hook)).status_code == 200
    assert (await client.put("/api/channels/team", json=slack | {"project": "alice/app"})).status_code == 200

    listed = (await client.get("/api/channels")).json()

    assert "s" * 20 not in str(listed)
    assert "xyz" not in str(listed)  # a Slack webhook URL is a credential
    assert [(c["name"], c["signed"], c["project"]) for c in listed] == [
        ("ops", True, None),
        ("team", False, "alice/app"),
    ]
    assert (await client.delete("/api/channels/team")).status_code == 204
    assert (await client.delete("/api/channels/team")).status_code == 404
    assert [c["name"] for c in (await client.get("/api/channels")).json()] == ["ops"]


async def test_a_channel_takes_the_needs_input_and_project_needs_attention_kinds(
    client: httpx.AsyncClient,
) -> None:
    kinds = ["needs_input", "project_needs_attention"]
    body = {"name": "people", "kind": "email", "target": "owner@example.com", "events": kinds}
    assert (await client.put("/api/channels/people", json=body)).status_code == 200
    assert [c["events"] for c in (await client.get("/api/channels")).json()] == [kinds]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "kind": "pager", "target": "https://a.example"}, "kind"),
        ({"name": "x", "kind": "slack", "target": "not a url"}, "target"),
        ({"name": "x", "kind": "webhook", "target": "https://a.example/h"}, "secret"),
        ({"name": "x", "kind": "email", "target": "someone"}, "target"),
        ({"name": "x", "kind": "slack", "target": "https://a.example", "events": ["everything"]}, "events"),
    ],
)
async def test_a_bad_channel_gets_a_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    answer = await client.put("/api/channels/x", json=body)
    assert answer.status_code == 422
    assert field in {error["loc"][1] for error in answer.json()["detail"]}
    assert (await client.get("/api/channels")).json() == []  # nothing half-saved


async def test_only_the_internal_token_is_answered(client: httpx.AsyncClient) -> None:
    for presented in ("", "Bearer wrong", f"Bearer {TOKEN}x"):
        answer = await client.get("/api/channels", headers={"authorization": presented})
        assert answer.status_code == 401
