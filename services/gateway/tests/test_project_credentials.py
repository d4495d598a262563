"""Each repository's credential through the minter, asked with the services' client
(`paid_runtime.github_credentials`): the project's App installation, narrowed to the repository and
the purpose; the project's own token; the global token only for repositories with neither; a job's
tokens revoked together when it ends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from faststream.nats import NatsBroker

from paid_contracts import LabelMapping, subjects
from paid_devstack.nats import NatsServer
from paid_gateway import token_service
from paid_gateway.project_registry import ProjectView
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredentials
from paid_runtime.job_tokens import release_job
from paid_runtime.messaging import make_broker

from .nats_answers import answering
from .test_token_minter import Setup, setup

__all__ = ["setup"]
OWN_TOKEN = "ghp_owner"


class Projects:
    def __init__(self, *views: ProjectView) -> None:
        self.views = {f"{v.owner}/{v.name}": v for v in views}

    async def get(self, repository: str) -> ProjectView | None:
        return self.views.get(repository)


def project(
    name: str, *, installation_id: int | None = None, token: str | None = None, app_state: str | None = None
) -> ProjectView:
    return ProjectView(
        owner="octo-org",
        name=name,
        webhook_secrets=(),
        labels=LabelMapping(),
        allowlist=(),
        token=token,
        installation_id=installation_id,
        app_state=app_state,
    )


@pytest.fixture
async def minter_broker(nats_server: NatsServer, setup: Setup) -> AsyncIterator[NatsBroker]:
    setup.emu.create_repository("octo-org", "gamma", {"README.md": "# hi\n"}, private=True)
    projects = Projects(
        project("alpha", installation_id=setup.installation_id, app_state="installed"),
        project("beta", installation_id=setup.installation_id, app_state="uninstalled"),
        project("gamma", token=OWN_TOKEN),
    )
    broker = make_broker(nats_server.url, "gateway")
    token_service.register(broker, setup.minter(), projects)
    await broker.start()
    await answering(broker, subjects.GITHUB_APP_MINT, subjects.GITHUB_APP_RELEASE_JOB)
    yield broker
    await broker.stop()


def client(broker: NatsBroker, global_token: str = "") -> GitHubCredentials:
    return GitHubCredentials(lambda: broker.connection, global_token=global_token)


async def test_an_app_project_gets_a_token_for_its_repository_and_purpose_only(
    minter_broker: NatsBroker, broker: NatsBroker, setup: Setup
) -> None:
    credential = await client(broker, "ghp_global").for_repository("octo-org/alpha", "plan")
    assert credential.source == "app"
    assert credential.token not in repr(credential)
    assert setup.get("/repos/octo-org/alpha/issues", credential.token).status_code == 200
    assert setup.get("/repos/octo-org/beta/issues", credential.token).status_code == 404
    issue = setup.emu.create_issue("octo-org", "alpha", title="t", body="b", as_user="octo-org")
    denied = httpx.post(
        f"{setup.emu.api_url}/repos/octo-org/alpha/issues/{issue['number']}/comments",
        headers={"Authorization": f"token {credential.token}"},
        json={"body": "a planning token is read-only"},
    )
    assert denied.status_code == 403


async def test_a_project_token_a_global_fallback_and_a_refusal(
    minter_broker: NatsBroker, broker: NatsBroker, setup: Setup
) -> None:
    own = await client(broker, "ghp_global").for_repository("octo-org/gamma", "run")
    assert (own.source, own.token) == ("project_token", OWN_TOKEN)
    unregistered = await client(broker, "ghp_global").for_repository("octo-org/delta", "trust")
    assert (unregistered.source, unregistered.token) == ("global", "ghp_global")
    with pytest.raises(CredentialUnavailable) as none:
        await client(broker).for_repository("octo-org/delta", "trust")
    assert (none.value.kind, none.value.permanent) == ("no_credential", True)

    before = setup.mint_requests()
    with pytest.raises(CredentialUnavailable) as refused:
        await client(broker, "ghp_global").for_repository("octo-org/beta", "run", job="run:1")
    assert refused.value.permanent
    assert "uninstalled" in refused.value.reason
    assert setup.mint_requests() == before, "an uninstalled project costs GitHub no request"


async def test_releasing_a_job_revokes_every_token_it_had(
    minter_broker: NatsBroker, broker: NatsBroker, setup: Setup
) -> None:
    credentials = client(broker)
    first = await credentials.for_repository("octo-org/alpha", "run", job="run:a")
    again = await credentials.for_repository("octo-org/alpha", "run", job="run:a")
    assert again.token == first.token, "cached while fresh"
    workflows = await credentials.for_repository("octo-org/alpha", "run", job="run:a", allow_workflows=True)
    other_job = await credentials.for_repository("octo-org/alpha", "run", job="run:b")
    assert len({first.token, workflows.token, other_job.token}) == 3, "each job has its own tokens"

    await release_job(credentials, "run:a")
    assert setup.get("/repos/octo-org/alpha", first.token).status_code == 401
    assert setup.get("/repos/octo-org/alpha", workflows.token).status_code == 401
    assert setup.get("/repos/octo-org/alpha", other_job.token).status_code == 200
    await release_job(credentials, "run:a")  # again: nothing left, nothing fails


async def test_without_a_minter_the_failure_is_worth_retrying(nats_server: NatsServer) -> None:
    lonely = make_broker(nats_server.url, "executor")
    await lonely.connect()
    try:
        with pytest.raises(CredentialUnavailable) as unanswered:
            await GitHubCredentials(lambda: lonely.connection, timeout=2).for_repository("a/b", "run")
    finally:
        await lonely.stop()
    assert (unanswered.value.kind, unanswered.value.permanent) == ("unavailable", False)
