"""The App's installation deliveries, as the emulator sends them, register, pause and stop projects."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway import project_registry, projects_repo
from paid_gateway.config import GatewaySettings
from paid_gateway.project_schemas import ProjectPublic
from paid_github_emulator import GitHubEmulator
from paid_github_emulator.testing import ReceivedWebhook, WebhookReceiver

from .test_webhooks import WEBHOOK

APP_SECRET = "the-apps-webhook-secret-for-installations"


@dataclass
class Installed:
    emu: GitHubEmulator
    receiver: WebhookReceiver
    app_id: int
    owner: str
    repos: tuple[str, str]


@pytest.fixture
def installed() -> Iterator[Installed]:
    owner = f"org-{uuid.uuid4().hex[:8]}"
    with GitHubEmulator() as emu, WebhookReceiver() as receiver:
        emu.add_user(owner, f"ghp_{owner}")
        repos = ("alpha", "beta")
        for name in repos:
            emu.create_repository(owner, name, {"README.md": "# hi\n"})
        app, _ = emu.create_app(owner, "Paid", webhook_url=receiver.url, webhook_secret=APP_SECRET)
        yield Installed(emu, receiver, app.id, owner, repos)


@pytest.fixture
def settings(settings: GatewaySettings, installed: Installed) -> GatewaySettings:
    return settings.model_copy(
        update={"github_app_id": str(installed.app_id), "github_app_webhook_secret": APP_SECRET}
    )


async def forward(client: httpx.AsyncClient, delivery: ReceivedWebhook) -> httpx.Response:
    headers = {k: v for k, v in delivery.headers.items() if k.lower().startswith(("x-", "content-type"))}
    return await client.post(WEBHOOK, content=delivery.body, headers=headers)


async def project(sessions: async_sessionmaker[AsyncSession], repository: str) -> ProjectPublic | None:
    async with sessions() as session:
        found = await projects_repo.get_project(session, key=projects_repo.project_key(repository))
        return project_registry.public(found) if found else None


async def test_installing_registers_suspending_pauses_uninstalling_stops(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    installed: Installed,
    settings: GatewaySettings,
) -> None:
    emu, owner = installed.emu, installed.owner
    alpha, beta = (f"{owner}/{name}" for name in installed.repos)
    installation = emu.install_app(installed.app_id, owner, list(installed.repos))
    response = await forward(client, installed.receiver.wait_for(1)[0])
    assert response.status_code == 202, response.text
    assert response.json()["projects"] == [
        f"{alpha}: App installed, polling active",
        f"{beta}: App installed, polling active",
    ]
    registered = await project(sessions, alpha)
    assert registered is not None
    assert (registered.auth, registered.installation_id, registered.app_state) == (
        "app",
        installation.id,
        "installed",
    )
    assert registered.labels.build == settings.build_label
    assert registered.needs_attention is None

    emu.suspend_installation(installation.id, as_user=owner)
    assert (await forward(client, installed.receiver.wait_for(2)[1])).status_code == 202
    suspended = await project(sessions, alpha)
    assert suspended is not None
    assert (suspended.app_state, suspended.polling) == ("suspended", "paused")
    assert suspended.needs_attention is not None
    assert "suspended" in suspended.needs_attention

    emu.unsuspend_installation(installation.id, as_user=owner)
    emu.remove_installation_repositories(installation.id, ["beta"], as_user=owner)
    for delivery in installed.receiver.wait_for(4)[2:]:
        assert (await forward(client, delivery)).status_code == 202
    resumed, removed = await project(sessions, alpha), await project(sessions, beta)
    assert resumed is not None
    assert removed is not None
    assert (resumed.app_state, resumed.polling, resumed.needs_attention) == ("installed", "active", None)
    assert (removed.app_state, removed.polling) == ("uninstalled", "stopped")
    assert removed.needs_attention is not None
    assert "uninstalled" in removed.needs_attention

    emu.uninstall_app(installation.id, as_user=owner)
    assert (await forward(client, installed.receiver.wait_for(5)[4])).status_code == 202
    stopped = await project(sessions, alpha)
    assert stopped is not None
    assert (stopped.app_state, stopped.polling) == ("uninstalled", "stopped")


async def test_a_forged_installation_registers_nothing(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], installed: Installed
) -> None:
    installed.emu.install_app(installed.app_id, installed.owner, list(installed.repos))
    delivery = installed.receiver.wait_for(1)[0]
    forged_body = delivery.body.replace(b'"alpha"', b'"alpha2"')
    forged = ReceivedWebhook(delivery.path, delivery.headers, forged_body)
    assert (await forward(client, forged)).status_code == 401
    other_target = ReceivedWebhook(
        delivery.path, delivery.headers | {"X-GitHub-Hook-Installation-Target-ID": "1"}, delivery.body
    )
    assert (await forward(client, other_target)).status_code == 401
    assert await project(sessions, f"{installed.owner}/alpha") is None
