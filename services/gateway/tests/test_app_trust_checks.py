"""The gateway's own GitHub calls for an App project (the labeler's permission, the refusal comment) use a
token minted from the project's installation, narrowed to the repository, never the global token."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_devstack.processes import wait_until
from paid_gateway import project_registry, projects_repo
from paid_gateway.config import GatewaySettings
from paid_gateway.project_schemas import ProjectCreate
from paid_github_emulator import GitHubEmulator
from paid_runtime.secretbox import secret_box

from .test_trusted_triggers import OUTSIDER, OWNER, REPO, delivery, refusals

REPOSITORY = f"{OWNER}/{REPO}"
PERMISSIONS = {"contents": "write", "pull_requests": "write", "issues": "write"}


@pytest.fixture
def app_credentials(github: GitHubEmulator) -> tuple[str, str, int]:
    app, pem = github.create_app(OWNER, f"Paid-{id(github)}", permissions=PERMISSIONS)
    installation = github.install_app(app.id, OWNER, [REPO])
    return str(app.id), pem, installation.id


@pytest.fixture
def settings(settings: GatewaySettings, app_credentials: tuple[str, str, int]) -> GatewaySettings:
    app_id, pem, _ = app_credentials
    return settings.model_copy(update={"github_app_id": app_id, "github_app_private_key": pem})


@pytest.fixture
async def app_project(
    sessions: async_sessionmaker[AsyncSession], app_credentials: tuple[str, str, int]
) -> AsyncIterator[None]:
    box = secret_box([], environment="development")
    created = ProjectCreate(repository=REPOSITORY, installation_id=app_credentials[2])
    async with sessions() as session:
        row = project_registry.new_project(created, box=box, default_interval=60, now=datetime.now(UTC))
        row.app_state = "installed"
        await projects_repo.add_project(session, project=row)
        await session.commit()
    yield
    async with sessions() as session:  # other tests of this session see Hello-World as no project
        found = await projects_repo.get_project(session, key=projects_repo.project_key(REPOSITORY))
        if found is not None:
            await session.delete(found)
            await session.commit()


async def test_an_app_projects_trust_check_and_refusal_use_its_installation_token(
    client: httpx.AsyncClient, github: GitHubEmulator, github_fixture: Any, app_project: None
) -> None:
    number = int(github.create_issue(OWNER, REPO, title="Please build", as_user=OWNER)["number"])
    before = len(github.access_log())
    body, headers = delivery(github_fixture, number, OUTSIDER, "test-webhook-secret")
    response = await client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 202
    assert response.json()["accepted"] is False
    wait_until(lambda: len(refusals(github, number)) == 1, timeout=10, what="the refusal comment")

    made = github.access_log()[before:]
    on_repository = [r for r in made if f"/repos/{REPOSITORY}/" in r.path]
    assert any("/collaborators/" in r.path for r in on_repository), "the labeler's permission was asked"
    assert any(r.path.endswith(f"/issues/{number}/comments") for r in on_repository), "and it commented"
    assert {r.credential.split(":")[0] for r in on_repository} == {"installation-token"}
    global_token = hashlib.sha256(b"ghp_gateway_tests").hexdigest()[:12]
    assert not [r for r in made if global_token in r.credential or r.credential.startswith("user:")]
    assert refusals(github, number)[0]["user"]["login"].endswith("[bot]")
