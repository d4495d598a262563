"""A project's agent and model through `/api/projects`: stored, shown, announced in the snapshot the
executor keeps, cleared by null; an unknown agent, the operator's `command` or a model that is not a
plain name gets a 422 that names the field, and nothing changes."""

from __future__ import annotations

import asyncio
import functools
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from typer.testing import CliRunner

from paid_cli.main import app as cli
from paid_contracts import ProjectRegistered, ProjectUpdated, subjects
from paid_devstack.browser import accessibility_violations, chromium, chromium_path
from paid_gateway.app import create_app
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings
from paid_runtime.messaging import publish_event
from paid_runtime.secretbox import generate_key

ADMIN = "admin-token-for-the-project-agent-tests"


@pytest.fixture
async def api(
    settings: GatewaySettings, broker: NatsBroker, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings.model_copy(update={"secrets_keys": [generate_key()], "admin_token": ADMIN})
    app = create_app(settings, publisher=functools.partial(publish_event, broker), sessions=sessions)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway", headers=headers) as client:
        yield client


def repository() -> str:
    return f"acme/agent-{uuid.uuid4().hex[:8]}"


async def last_snapshot(broker: NatsBroker, subject: str) -> bytes:
    message = await broker.connection.jetstream().get_last_msg("PAID_PROJECT", subject)
    return message.data or b""


async def test_the_agent_is_stored_announced_and_cleared_by_null(
    api: httpx.AsyncClient, broker: NatsBroker
) -> None:
    name = repository()
    created = await api.post(
        "/api/projects", json={"repository": name, "agent": "codex", "agent_model": "gpt-5"}
    )
    assert created.status_code == 201, created.text
    assert (created.json()["agent"], created.json()["agent_model"]) == ("codex", "gpt-5")
    registered = ProjectRegistered.model_validate_json(
        await last_snapshot(broker, subjects.PROJECT_REGISTERED)
    )
    assert (registered.project_id, registered.agent, registered.agent_model) == (name, "codex", "gpt-5")

    untouched = await api.patch(f"/api/projects/{name}", json={"polling": "paused"})
    assert (untouched.json()["agent"], untouched.json()["agent_model"]) == ("codex", "gpt-5")

    cleared = await api.patch(f"/api/projects/{name}", json={"agent": "gemini", "agent_model": None})
    assert (cleared.json()["agent"], cleared.json()["agent_model"], cleared.json()["version"]) == (
        "gemini",
        None,
        3,
    )
    updated = ProjectUpdated.model_validate_json(await last_snapshot(broker, subjects.PROJECT_UPDATED))
    assert (updated.project_id, updated.version, updated.agent, updated.agent_model) == (
        name,
        3,
        "gemini",
        None,
    )

    reset = await api.patch(f"/api/projects/{name}", json={"agent": None})
    assert (reset.json()["agent"], reset.json()["agent_model"]) == (None, None)


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"agent": "cursor"}, "body.agent", "unknown agent"),
        ({"agent": "command"}, "body.agent", "operator's command line"),
        ({"agent": 7}, "body.agent", ""),
        ({"agent": ["codex"]}, "body.agent", ""),  # unhashable: once a 500
        ({"agent": {"name": "codex"}}, "body.agent", ""),
        ({"agent_model": "--config=/etc/passwd"}, "body.agent_model", ""),
        ({"agent_model": "gpt 5; rm -rf"}, "body.agent_model", ""),
        ({"agent_model": ""}, "body.agent_model", ""),
    ],
)
async def test_a_bad_agent_or_model_gets_a_422_naming_the_field_and_changes_nothing(
    api: httpx.AsyncClient, fields: dict[str, Any], field: str, says: str
) -> None:
    name = repository()
    refused = await api.post("/api/projects", json={"repository": name, **fields})
    assert refused.status_code == 422, refused.text
    assert [problem["where"] for problem in refused.json()["errors"]] == [field]
    assert says in refused.json()["detail"]
    assert (await api.get(f"/api/projects/{name}")).status_code == 404

    await api.post("/api/projects", json={"repository": name, "agent": "aider"})
    update = await api.patch(f"/api/projects/{name}", json=fields)
    assert update.status_code == 422, update.text
    assert [problem["where"] for problem in update.json()["errors"]] == [field]
    kept = (await api.get(f"/api/projects/{name}")).json()
    assert (kept["agent"], kept["version"]) == ("aider", 1)


async def test_the_cli_sets_shows_and_clears_the_projects_agent(
    live_api: str, role_tokens: dict[Role, str]
) -> None:
    name = repository()
    env = {"PAID_URL": live_api, "PAID_TOKEN": role_tokens[Role.ADMIN], "COLUMNS": "250"}

    async def paid(*args: str) -> tuple[int, str]:
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["project", *args], env=env)
        return result.exit_code, result.output

    assert (await paid("add", name, "--agent", "codex", "--model", "gpt-5"))[0] == 0
    code, listed = await paid("list")
    assert code == 0
    assert re.search(rf"{re.escape(name)}.*codex gpt-5", listed), listed
    code, refused = await paid("update", name, "--agent", "command")
    assert code == 1
    assert "422" in refused
    assert "body.agent" in refused
    assert (await paid("update", name, "--agent", "gemini"))[0] == 0
    assert re.search(rf"{re.escape(name)}.*gemini gpt-5", (await paid("list"))[1])
    assert (await paid("update", name, "--clear-agent"))[0] == 0
    _, cleared = await paid("list")
    assert not re.search(rf"{re.escape(name)}.*(gemini|gpt-5)", cleared), cleared
    assert (await paid("update", name, "--clear-agent", "--agent", "aider"))[0] == 2


# Heavy: a browser session; the API and CLI tests above are its short form.
@pytest.mark.heavy
@pytest.mark.skipif(chromium_path() is None, reason="needs Debian's chromium (apt-get install chromium)")
async def test_an_admin_chooses_the_projects_agent_on_the_dashboard_and_a_bad_model_is_named(
    live_api: str, role_tokens: dict[Role, str]
) -> None:
    name = repository()
    admin = {"Authorization": f"Bearer {role_tokens[Role.ADMIN]}"}
    async with httpx.AsyncClient(base_url=live_api, headers=admin) as http:
        assert (await http.post("/api/projects", json={"repository": name})).status_code == 201
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(live_api + "/")
            await page.evaluate("token => localStorage.setItem('paid.token', token)", role_tokens[Role.ADMIN])
            await page.goto(live_api + "/#/")
            await page.locator("#agent-form").wait_for()
            await page.select_option("#agent-project", name)
            await page.select_option("#agent-choice", "codex")
            await page.fill("#agent-model", "gpt-5")
            await page.click("#agent-form button[type=submit]")
            await page.locator("#agent-result", has_text="codex with gpt-5 saved").wait_for()
            assert await accessibility_violations(page) == ""

            await page.fill("#agent-model", "--config /etc/passwd")
            await page.click("#agent-form button[type=submit]")
            await page.locator("#agent-result", has_text="agent_model").wait_for()
            await page.select_option("#agent-choice", "")
            await page.fill("#agent-model", "")
            await page.click("#agent-form button[type=submit]")
            await page.locator("#agent-result", has_text="the executor's agent saved").wait_for()
        shown = (await http.get(f"/api/projects/{name}")).json()
    assert (shown["agent"], shown["agent_model"], shown["version"]) == (
        None,
        None,
        3,
    )  # the refusal changed nothing
