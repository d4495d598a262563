"""The retry API requests the next attempt at an issue after any outcome, and answers 409 with the
reason when the executor would start nothing: an attempt still runs, or the last one succeeded and its
pull request is open or merged (asked of the GitHub emulator). Never a 202 that starts nothing."""

from __future__ import annotations

import base64
import functools
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from faststream.nats import NatsBroker
from gateway_run_events import RunScript
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import RunOutcome
from paid_gateway.app import create_app
from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings
from paid_gateway.projections import projector
from paid_github_emulator import GitHubEmulator
from paid_runtime.messaging import publish_event

from .conftest import FIXTURE_OWNER, GITHUB_TOKEN


@pytest.fixture
async def retry_api(
    api_settings: GatewaySettings,
    github: GitHubEmulator,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[httpx.AsyncClient]:
    emulated = {"github_api_url": github.api_url, "github_token": GITHUB_TOKEN}
    settings = api_settings.model_copy(update=emulated)
    app = create_app(settings, publisher=functools.partial(publish_event, broker), sessions=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        yield client


@pytest.fixture
def operator(role_tokens: dict[Role, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {role_tokens[Role.OPERATOR]}"}


def attempt(repo: str, number: int) -> RunScript:
    script = RunScript(repo, number)
    script.workflow_id = f"exec:{script.issue.key}:{number}"
    return script


async def project(sessions: async_sessionmaker[AsyncSession], *events: object) -> None:
    async with sessions() as session:
        for event in events:
            await projector.apply(session, event)  # type: ignore[arg-type]


def rest(github: GitHubEmulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=github.api_url, headers={"Authorization": f"Bearer {GITHUB_TOKEN}"})


async def open_pull(client: httpx.AsyncClient, github: GitHubEmulator, name: str, branch: str) -> int:
    """A branch with one commit and its pull request, through the REST API as Paid would make them."""
    repo = f"/repos/{FIXTURE_OWNER}/{name}"
    ref = {"ref": f"refs/heads/{branch}", "sha": github.branch_sha(FIXTURE_OWNER, name, "main")}
    (await client.post(f"{repo}/git/refs", json=ref)).raise_for_status()
    content = base64.b64encode(branch.encode()).decode()
    written = await client.put(
        f"{repo}/contents/{branch}.txt", json={"message": branch, "content": content, "branch": branch}
    )
    written.raise_for_status()
    pull = await client.post(f"{repo}/pulls", json={"title": branch, "head": branch, "base": "main"})
    pull.raise_for_status()
    return int(pull.json()["number"])


async def test_retry_while_an_attempt_runs_is_refused_with_the_reason(
    retry_api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], operator: dict[str, str]
) -> None:
    repo = f"acme/calc-{uuid.uuid4().hex[:8]}"
    first, second = attempt(repo, 1), attempt(repo, 2)
    second.issue, second.correlation = first.issue, first.correlation  # the same issue, attempt 2
    second.workflow_id = f"exec:{first.issue.key}:2"
    await project(sessions, first.started(), first.finished(RunOutcome.TESTS_FAILING), second.started())

    for run in (first, second):  # retrying the old attempt is retrying the issue
        response = await retry_api.post(f"/api/runs/{run.run_id}/retry", headers=operator)
        assert response.status_code == 409
        assert response.json()["detail"] == (
            f"no new attempt: attempt 2 of {first.issue.key} (run {second.run_id}) is still running"
        )


@pytest.mark.parametrize(
    "outcome", [RunOutcome.TESTS_FAILING, RunOutcome.BUDGET_EXCEEDED, RunOutcome.ITERATION_LIMIT]
)
async def test_retry_after_an_unsuccessful_outcome_is_accepted(
    retry_api: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    operator: dict[str, str],
    outcome: RunOutcome,
) -> None:
    run = attempt(f"acme/calc-{uuid.uuid4().hex[:8]}", 1)
    await project(sessions, run.started(), run.finished(outcome))
    response = await retry_api.post(f"/api/runs/{run.run_id}/retry", headers=operator)
    assert response.status_code == 202, response.text


async def test_retry_after_a_success_depends_on_its_pull_request(
    retry_api: httpx.AsyncClient,
    github: GitHubEmulator,
    sessions: async_sessionmaker[AsyncSession],
    operator: dict[str, str],
) -> None:
    name = f"calc-{uuid.uuid4().hex[:8]}"
    github.create_repository(FIXTURE_OWNER, name, {"README.md": "# calc\n"})
    async with rest(github) as client:
        number = await open_pull(client, github, name, "paid/issue-1")
        run = attempt(f"{FIXTURE_OWNER}/{name}", 1)
        finished = run.finished(RunOutcome.SUCCEEDED).model_copy(update={"pull_request_number": number})
        await project(sessions, run.started(), finished)
        key = run.issue.key
        response = await retry_api.post(f"/api/runs/{run.run_id}/retry", headers=operator)
        assert response.status_code == 409
        assert response.json()["detail"] == (
            f"no new attempt: attempt 1 of {key} succeeded and its pull request #{number} is open; "
            "close it to try again"
        )

        closed = await client.patch(f"/repos/{FIXTURE_OWNER}/{name}/pulls/{number}", json={"state": "closed"})
        closed.raise_for_status()
        response = await retry_api.post(f"/api/runs/{run.run_id}/retry", headers=operator)
        assert response.status_code == 202, response.text
        assert response.json()["detail"] == f"a new run was requested for {key}"

        merged_number = await open_pull(client, github, name, "paid/issue-1-again")
        github.merge_pull(FIXTURE_OWNER, name, merged_number, as_user=FIXTURE_OWNER)
    again = attempt(f"{FIXTURE_OWNER}/{name}", 2)
    again.issue, again.correlation = run.issue, run.correlation
    again.workflow_id = f"exec:{key}:2"
    merged = again.finished(RunOutcome.SUCCEEDED).model_copy(update={"pull_request_number": merged_number})
    await project(sessions, again.started(), merged)
    response = await retry_api.post(f"/api/runs/{run.run_id}/retry", headers=operator)
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"no new attempt: attempt 2 of {key} succeeded and its pull request #{merged_number} was merged"
    )
