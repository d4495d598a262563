"""`/api/projects` against real PostgreSQL and JetStream: secrets stored encrypted and never returned,
every change announced as a snapshot, per-project webhook secrets with rotation."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import ProjectRegistered, ProjectUpdated, subjects
from paid_gateway import projects_repo
from paid_gateway.app import create_app
from paid_gateway.config import GatewaySettings
from paid_gateway.signatures import sign
from paid_runtime.messaging import publish_event
from paid_runtime.secretbox import SecretBox, generate_key

TOKEN = "ghp_project_token_value_1234"
HOOK_SECRET = "project-hook-secret-1"
NEXT_HOOK_SECRET = "project-hook-secret-2"
ADMIN = "admin-token-for-the-projects-tests"


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
async def api(
    settings: GatewaySettings, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession], key: str
) -> AsyncIterator[httpx.AsyncClient]:
    # No global webhook secret matches the project's deliveries: only its own secrets can.
    settings = settings.model_copy(update={"secrets_keys": [key], "admin_token": ADMIN})
    app = create_app(settings, publisher=functools.partial(publish_event, broker), sessions=sessions)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway", headers=headers) as client:
        yield client


def repository() -> str:
    return f"acme/app-{uuid.uuid4().hex[:8]}"


async def last_project_event(broker: NatsBroker, subject: str) -> tuple[dict[str, str], bytes]:
    message = await broker.connection.jetstream().get_last_msg("PAID_PROJECT", subject)
    return dict(message.headers or {}), message.data or b""


async def test_registering_stores_secrets_encrypted_returns_none_and_announces_the_project(
    api: httpx.AsyncClient, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession], key: str
) -> None:
    name = repository()
    response = await api.post(
        "/api/projects",
        json={
            "repository": name,
            "token": TOKEN,
            "webhook_secret": HOOK_SECRET,
            "poll_interval_seconds": 30,
            "allowlist": ["alice", "dependabot[bot]"],
            "labels": {"build": "robot-build"},
        },
    )

    assert response.status_code == 201, response.text
    public = response.json()
    assert TOKEN not in response.text
    assert HOOK_SECRET not in response.text
    assert (public["repository"], public["has_token"], public["has_webhook_secret"]) == (name, True, True)
    assert (public["auth"], public["version"], public["poll_interval_seconds"]) == ("token", 1, 30)
    assert public["labels"]["build"] == "robot-build"
    assert public["labels"]["plan"] == "paid-plan"
    async with sessions() as session:
        row = await projects_repo.get_project(session, key=name.lower())
    assert row is not None
    assert row.token_ciphertext
    assert row.webhook_secret_ciphertext
    assert TOKEN not in row.token_ciphertext
    assert HOOK_SECRET not in row.webhook_secret_ciphertext
    assert SecretBox([key]).decrypt(row.token_ciphertext) == TOKEN
    headers, data = await last_project_event(broker, subjects.PROJECT_REGISTERED)
    event = ProjectRegistered.model_validate_json(data)
    assert headers["Nats-Msg-Id"] == event.event_id == f"project:{name.lower()}:v1"
    assert TOKEN.encode() not in data
    assert HOOK_SECRET.encode() not in data
    assert event.token_ciphertext
    assert SecretBox([key]).decrypt(event.token_ciphertext) == TOKEN
    assert (event.repo.full_name, event.poll_interval_seconds, event.allowlist) == (
        name,
        30,
        ("alice", "dependabot[bot]"),
    )
    listed = await api.get("/api/projects")
    assert name in [project["repository"] for project in listed.json()]
    assert TOKEN not in listed.text


async def test_a_repository_is_registered_once(api: httpx.AsyncClient) -> None:
    name = repository()
    assert (await api.post("/api/projects", json={"repository": name})).status_code == 201
    again = await api.post("/api/projects", json={"repository": name.upper()})
    assert again.status_code == 409


# json.dumps escapes a lone surrogate as `\\udXXX` (httpx's `json=` cannot encode one), as a client may.
JSON = {"Content-Type": "application/json"}
# Text PostgreSQL or the secrets box cannot take: NUL, lone surrogates (from JSON escapes), GitHub's limits.
BAD_FIELDS: list[dict[str, Any]] = [
    {"labels": {"plan": "a\x00b"}},
    {"labels": {"build": "\ud800"}},
    {"labels": {"build": ""}},
    {"labels": {"build": "x" * 51}},
    {"token": "ghp_\x00"},
    {"webhook_secret": "secret-\udfff-long"},
]


@pytest.mark.parametrize(
    "body",
    [
        {"repository": "no-slash"},
        {"repository": "a/b/c"},
        {"repository": "acme/app", "poll_interval_seconds": 0},
        {"repository": "acme/app", "allowlist": ["not a login"]},
        {"repository": "acme/app", "webhook_secret": "short"},
        {"repository": "acme/app", "unknown": 1},
        *({"repository": "acme/app", **fields} for fields in BAD_FIELDS),
    ],
)
async def test_bad_input_gets_a_clear_error_and_stores_nothing(
    api: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await api.post("/api/projects", content=json.dumps(body), headers=JSON)
    assert response.status_code == 422
    assert (await api.get("/api/projects/acme/app")).status_code == 404


async def test_the_api_needs_the_admin_token(api: httpx.AsyncClient) -> None:
    for headers in ({"Authorization": "Bearer wrong"}, {"Authorization": ""}):
        response = await api.get("/api/projects", headers=headers)
        assert response.status_code == 401


async def test_updating_announces_the_next_version(api: httpx.AsyncClient, broker: NatsBroker) -> None:
    name = repository()
    await api.post("/api/projects", json={"repository": name, "token": TOKEN})

    response = await api.patch(f"/api/projects/{name}", json={"polling": "paused", "allowlist": ["bob"]})

    assert response.status_code == 200
    assert (response.json()["version"], response.json()["polling"]) == (2, "paused")
    headers, data = await last_project_event(broker, subjects.PROJECT_UPDATED)
    event = ProjectUpdated.model_validate_json(data)
    assert headers["Nats-Msg-Id"] == f"project:{name.lower()}:v2"
    assert (event.polling, event.allowlist, event.version) == ("paused", ("bob",), 2)
    assert (await api.patch("/api/projects/acme/never-registered", json={})).status_code == 404


@pytest.mark.parametrize("body", BAD_FIELDS)
async def test_a_bad_update_gets_a_clear_error_and_changes_nothing(
    api: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    name = repository()
    await api.post("/api/projects", json={"repository": name, "token": TOKEN})

    response = await api.patch(f"/api/projects/{name}", content=json.dumps(body), headers=JSON)

    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list | str)
    assert (await api.get(f"/api/projects/{name}")).json()["version"] == 1


def signed_delivery(name: str, secret: str) -> tuple[bytes, dict[str, str]]:
    _owner, repo = name.split("/")
    body = json.dumps({"zen": "Keep it simple.", "repository": {"full_name": name, "name": repo}}).encode()
    headers = {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
    }
    return body, headers


async def test_a_projects_secret_is_rotated_with_old_and_new_accepted_until_the_rotation_ends(
    api: httpx.AsyncClient,
) -> None:
    name = repository()
    await api.post("/api/projects", json={"repository": name, "webhook_secret": HOOK_SECRET})

    async def status_with(secret: str) -> int:
        body, headers = signed_delivery(name, secret)
        return (await api.post("/webhooks/github", content=body, headers=headers)).status_code

    assert [await status_with(HOOK_SECRET), await status_with(NEXT_HOOK_SECRET)] == [200, 401]
    rotated = await api.patch(f"/api/projects/{name}", json={"webhook_secret": NEXT_HOOK_SECRET})
    assert rotated.json()["previous_secret_valid_until"] is not None
    assert [await status_with(HOOK_SECRET), await status_with(NEXT_HOOK_SECRET)] == [200, 200]
    await api.patch(f"/api/projects/{name}", json={"end_secret_rotation": True})
    assert [await status_with(HOOK_SECRET), await status_with(NEXT_HOOK_SECRET)] == [401, 200]
    # A secret of one project does not open another's deliveries.
    assert await status_with("test-webhook-secret-of-nobody") == 401
