"""The gateway serves the notifier's channels API to admins only, with the internal token added.

The notifier is stood in for by a small HTTP server that, like the real one, answers only the internal
token and refuses a bad channel with a 422 naming the field (services never import each other; the
real validation is tested in services/notifier/tests/test_api.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from fastapi.responses import JSONResponse
from faststream.nats import NatsBroker
from serving import GatewayFor, StandInService, gateway_forwarding_to, served
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from typer.testing import CliRunner

from paid_cli.main import app
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings

INTERNAL_TOKEN = "internal-token-shared-with-the-notifier"


def refuse_a_pager(body: bytes) -> JSONResponse | None:
    """The notifier's own refusal of an unknown channel kind."""
    if b'"pager"' not in body:
        return None
    detail = [{"loc": ["body", "kind"], "msg": "Input should be 'slack', 'webhook' or 'email'"}]
    return JSONResponse({"detail": detail}, status_code=422)


@pytest.fixture
async def notifier() -> AsyncIterator[tuple[StandInService, str]]:
    stand_in = StandInService(INTERNAL_TOKEN, ["GET", "PUT", "DELETE"], refuse=refuse_a_pager)
    async with served(stand_in.app, "the stand-in notifier") as url:
        yield stand_in, url


@pytest.fixture
def gateway_for(
    api_settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    notifier: tuple[StandInService, str],
) -> GatewayFor:
    return gateway_forwarding_to(api_settings, broker, sessions, "notifier", notifier[1])


async def test_an_admin_sets_a_channel_and_others_cannot(
    gateway_for: GatewayFor, role_tokens: dict[Role, str], notifier: tuple[StandInService, str]
) -> None:
    stand_in = notifier[0]
    channel = {"name": "team", "kind": "slack", "target": "https://hooks.slack.example/T/B/x"}
    async with gateway_for(INTERNAL_TOKEN) as http:
        refused = [
            await http.put(
                "/api/notifications/channels/team",
                json=channel,
                headers={"Authorization": f"Bearer {role_tokens[role]}"},
            )
            for role in (Role.VIEWER, Role.OPERATOR)
        ]
        admin = {"Authorization": f"Bearer {role_tokens[Role.ADMIN]}"}
        put = await http.put("/api/notifications/channels/team", json=channel, headers=admin)
        bad = await http.put(
            "/api/notifications/channels/team", json=channel | {"kind": "pager"}, headers=admin
        )
        listed = await http.get("/api/notifications/channels", headers=admin)
        removed = await http.delete("/api/notifications/channels/team", headers=admin)
        slashed = await http.delete("/api/notifications/channels/..%2Fchannels", headers=admin)
        queried = await http.delete("/api/notifications/channels/team%3Fx%3D1", headers=admin)
    assert [answer.status_code for answer in refused] == [403, 403]
    assert put.status_code == 200, put.text
    assert bad.status_code == 422
    assert bad.json()["errors"] == [  # the notifier's refusal, in the gateway's shape
        {"where": "body.kind", "problem": "Input should be 'slack', 'webhook' or 'email'"}
    ]
    assert listed.json() == {"served": "channels"}
    assert removed.status_code == 200
    assert (slashed.status_code, queried.status_code) == (404, 422)  # neither forwarded
    assert queried.json()["errors"] == [
        {"where": "path.name", "problem": "lowercase letters, digits, _ and -"}
    ]
    assert [(method, path) for method, path, _, _ in stand_in.received] == [
        ("PUT", "/api/channels/team"),
        ("PUT", "/api/channels/team"),
        ("GET", "/api/channels"),
        ("DELETE", "/api/channels/team"),
    ]


async def test_a_wrong_internal_token_is_the_gateways_fault_and_none_is_a_503(
    gateway_for: GatewayFor, role_tokens: dict[Role, str], notifier: tuple[StandInService, str]
) -> None:
    admin = {"Authorization": f"Bearer {role_tokens[Role.ADMIN]}"}
    async with gateway_for("stale") as http:
        stale = await http.get("/api/notifications/channels", headers=admin)
    async with gateway_for("") as http:
        unset = await http.get("/api/notifications/channels", headers=admin)
    assert (stale.status_code, unset.status_code) == (502, 503)
    assert notifier[0].received == []


@pytest.fixture
def api_settings(api_settings: GatewaySettings, notifier: tuple[StandInService, str]) -> GatewaySettings:
    """For `live_api`: a gateway that forwards to the stand-in notifier."""
    return api_settings.model_copy(
        update={"notifier_api_url": notifier[1], "notifier_api_token": INTERNAL_TOKEN}
    )


async def test_the_cli_sets_lists_and_removes_channels(
    live_api: str, role_tokens: dict[Role, str], notifier: tuple[StandInService, str]
) -> None:
    async def paid(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        command = [*args, "--url", live_api, "--token", role_tokens[Role.ADMIN]]
        result = await asyncio.to_thread(
            CliRunner().invoke, app, command, env={"COLUMNS": "200", **(env or {})}
        )
        return result.exit_code, result.stdout, result.stderr

    secret = "whsec-from-the-environment-0123"
    code, stdout, _ = await paid(
        "notifications", "set", "ops", "--kind", "webhook", "--target", "https://ops.example/paid",
        "--event", "budget_alert", "--event", "budget_stop", env={"PAID_CHANNEL_SECRET": secret},
    )  # fmt: skip
    assert (code, stdout.strip()) == (0, "channel ops set")
    code, _, stderr = await paid(
        "notifications", "set", "x", "--kind", "pager", "--target", "https://a.example"
    )
    assert code != 0
    assert "kind" in stderr  # the notifier's refusal names the field
    code, _, _ = await paid("notifications", "remove", "ops")
    assert code == 0

    (method, path, _, body), *_ = notifier[0].received
    assert (method, path) == ("PUT", "/api/channels/ops")
    assert json.loads(body) == {
        "name": "ops",
        "kind": "webhook",
        "target": "https://ops.example/paid",
        "project": None,
        "events": ["budget_alert", "budget_stop"],
        "secret": secret,
    }
    assert [(m, p) for m, p, _, _ in notifier[0].received[1:]] == [
        ("PUT", "/api/channels/x"),
        ("DELETE", "/api/channels/ops"),
    ]
