"""A credential the minter cannot get marks the project `needs_attention` with the reason (announced
like any project change); the next token minted for it clears a reason the minter set."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import InstallationTokenRequest
from paid_gateway import project_registry, projects_repo
from paid_gateway.config import GatewaySettings
from paid_gateway.project_attention import ProjectAttention
from paid_gateway.project_registry import ProjectCache
from paid_gateway.project_schemas import ProjectCreate, ProjectPublic
from paid_gateway.token_service import mint_reply, minter_from_settings
from paid_runtime.messaging import publish_event
from paid_runtime.secretbox import secret_box

from .test_token_minter import Setup, setup

__all__ = ["setup"]


def another_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


async def public(sessions: async_sessionmaker[AsyncSession], repository: str) -> ProjectPublic:
    async with sessions() as session:
        found = await projects_repo.get_project(session, key=projects_repo.project_key(repository))
    assert found is not None
    return project_registry.public(found)


async def test_a_refused_credential_marks_the_project_until_a_token_is_minted(
    setup: Setup, sessions: async_sessionmaker[AsyncSession], broker: NatsBroker
) -> None:
    name = f"repo-{uuid.uuid4().hex[:8]}"
    setup.emu.create_repository("octo-org", name, {"README.md": "# hi\n"})
    repository = f"octo-org/{name}"
    box = secret_box([], environment="development")
    async with sessions() as session:
        created = ProjectCreate(repository=repository, installation_id=setup.installation_id)
        row = project_registry.new_project(created, box=box, default_interval=60, now=datetime.now(UTC))
        row.app_state = "installed"
        await projects_repo.add_project(session, project=row)
        await session.commit()
    projects = ProjectCache(sessions, box, ttl=0)
    attention = ProjectAttention(sessions, functools.partial(publish_event, broker), projects)
    request = InstallationTokenRequest(repository=repository, purpose="run", job="run:attention")

    refused = await mint_reply(setup.minter(pem=another_key()), request, projects, attention)
    assert refused.error_kind == "app_refused"
    marked = await public(sessions, repository)
    assert marked.needs_attention is not None
    assert marked.needs_attention.startswith("GitHub refused a token: ")
    assert "App id and private key" in marked.needs_attention
    assert marked.version == 2, "the change is a new version, announced"

    minted = await mint_reply(setup.minter(), request, projects, attention)
    assert minted.token
    cleared = await public(sessions, repository)
    assert (cleared.needs_attention, cleared.version) == (None, 3)


async def test_a_malformed_key_shows_on_the_project_with_its_reason_and_asks_github_nothing(
    setup: Setup, sessions: async_sessionmaker[AsyncSession], broker: NatsBroker
) -> None:
    name = f"repo-{uuid.uuid4().hex[:8]}"
    setup.emu.create_repository("octo-org", name, {"README.md": "# hi\n"})
    repository = f"octo-org/{name}"
    box = secret_box([], environment="development")
    async with sessions() as session:
        created = ProjectCreate(repository=repository, installation_id=setup.installation_id)
        row = project_registry.new_project(created, box=box, default_interval=60, now=datetime.now(UTC))
        row.app_state = "installed"
        await projects_repo.add_project(session, project=row)
        await session.commit()
    projects = ProjectCache(sessions, box, ttl=0)
    attention = ProjectAttention(sessions, functools.partial(publish_event, broker), projects)
    settings = GatewaySettings(
        github_app_id=str(setup.app_id),
        github_app_private_key=setup.pem.replace("MII", "XXX", 1),
        github_api_url=setup.emu.api_url,
    )
    before = len(setup.emu.access_log())
    minter = minter_from_settings(settings)
    request = InstallationTokenRequest(repository=repository, purpose="run", job="run:malformed")
    refused = await mint_reply(minter, request, projects, attention)
    assert refused.error_kind == "not_configured"
    assert "private key" in refused.error
    marked = await public(sessions, repository)
    assert marked.needs_attention is not None
    assert "the GitHub App is not usable" in marked.needs_attention
    assert "private key" in marked.needs_attention
    assert "BEGIN" not in marked.needs_attention
    assert setup.emu.access_log()[before:] == []
