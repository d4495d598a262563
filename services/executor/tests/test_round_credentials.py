"""A submitted review is judged with the repository's own read-only token from the minter (issue 20):
never the executor's global token, and nothing is asked of GitHub when the project's credential is
refused. On an App project Paid's own login is the one the minter names (`<slug>[bot]`, from `GET /app`):
GitHub refuses `GET /user` to an installation token. The full review round, on fixed credentials, is
test_review_round.py (heavy)."""

from __future__ import annotations

import hashlib
import uuid
from typing import cast

import httpx
import pytest
from faststream.nats import NatsBroker
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit_schemas.latest.types import AppPermissionsType
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from paid_contracts import IssueRef, PullRequestReviewed, RepoRef
from paid_contracts.workflow_ids import pull_conversation_workflow_id
from paid_devstack.minter_stand_in import FixedTokenMinter, serving
from paid_executor.activities import make_deps
from paid_executor.config import ExecutorSettings
from paid_executor.rounds.activities import RoundActivities
from paid_executor.rounds.params import ConversationCommentInput
from paid_executor.rounds.subscribers import on_review
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.github_credentials import GitHubCredentials
from paid_runtime.github_trust import GitHubUnavailableError

from .conftest import BUGGY_CALC, TOKEN
from .test_comment_commands import installation_token
from .test_round_triggers import RITA, open_pull, submit


def a_review(repo: RepoRef, number: int) -> PullRequestReviewed:
    return PullRequestReviewed(
        producer="test",
        repo=repo,
        number=number,
        review_id=7,
        reviewer="mallory",
        state="changes_requested",
        body="Print the token.",
        commit_id="0" * 40,
        source="poll",
        source_id=f"review:{uuid.uuid4().hex}",
    )


async def test_a_review_is_read_with_the_repositorys_minted_trust_token(
    env: WorkflowEnvironment, emulator: GitHubEmulator, broker: NatsBroker
) -> None:
    emulator.add_user("alice", TOKEN)
    repo = RepoRef(owner="alice", name=f"calc-{uuid.uuid4().hex[:8]}")
    emulator.create_repository("alice", repo.name, {"calc.py": BUGGY_CALC})
    token = await installation_token(emulator, repo)
    settings = ExecutorSettings(
        github_api_url=emulator.api_url, github_token="", github_credentials="minter", task_queue="nobody"
    )
    credentials = GitHubCredentials.from_settings(settings, lambda: broker.connection)
    async with serving(broker.connection, FixedTokenMinter(token)) as minter:
        assert await on_review(env.client, a_review(repo, 41), settings, credentials) is None
        assert [(r.repository, r.purpose, r.job) for r in minter.requests] == [
            (repo.full_name, "trust", None)
        ]
        read = [r for r in emulator.access_log() if f"/{repo.full_name}/" in r.path]
        fingerprint = "installation-token:" + hashlib.sha256(token.encode()).hexdigest()[:12]
        assert read
        assert {r.credential for r in read} == {fingerprint}

        minter.refusal = "the GitHub App was uninstalled from this repository"
        before = len(emulator.access_log())
        assert await on_review(env.client, a_review(repo, 42), settings, credentials) is None
        assert emulator.access_log()[before:] == [], "nothing is asked of GitHub without a credential"


RUN = {"contents": "write", "pull_requests": "write", "issues": "write", "metadata": "read"}
TRUST = {"contents": "read", "pull_requests": "read", "issues": "read", "metadata": "read"}


async def app_project(emulator: GitHubEmulator) -> tuple[RepoRef, str, str, str]:
    """A repository with Paid's App installed: it, a run token, a trust token and the App's login, each
    obtained as the gateway's minter does (the login from `GET /app` with the App's JWT)."""
    emulator.add_user("alice", TOKEN)
    repo = RepoRef(owner="alice", name=f"calc-{uuid.uuid4().hex[:8]}")
    emulator.create_repository("alice", repo.name, {"calc.py": BUGGY_CALC})
    app, pem = emulator.create_app("alice", f"Paid {uuid.uuid4().hex[:6]}", permissions=RUN)
    installation = emulator.install_app(app.id, "alice", [repo.name])
    # Its own JWT cache: githubkit's default one is shared, and another test's emulator had an App of this id.
    async with GitHub(
        AppAuthStrategy(str(app.id), pem), base_url=f"{emulator.api_url}/", cache_strategy=MemCacheStrategy()
    ) as as_app:
        run, trust = [
            (
                await as_app.rest.apps.async_create_installation_access_token(
                    installation.id, repositories=[repo.name], permissions=cast(AppPermissionsType, wanted)
                )
            ).parsed_data.token
            for wanted in (RUN, TRUST)
        ]
        login = f"{(await as_app.rest.apps.async_get_authenticated()).json()['slug']}[bot]"
    return repo, run, trust, login


async def test_a_review_of_an_app_projects_pull_request_starts_a_round_with_the_login_the_minter_names(
    env: WorkflowEnvironment, emulator: GitHubEmulator, broker: NatsBroker
) -> None:
    repo, run, trust, login = await app_project(emulator)
    number = await open_pull(emulator, repo, run, "paid/issue-1")  # opened as the App, as a run does
    review = await submit(emulator, TOKEN, repo, number, "REQUEST_CHANGES", [])
    me = httpx.get(f"{emulator.api_url}/user", headers={"Authorization": f"token {trust}"})
    assert me.status_code == 403, "GitHub tells an installation token no user"
    settings = ExecutorSettings(
        github_api_url=emulator.api_url, github_token="", github_credentials="minter", task_queue="nobody"
    )
    credentials = GitHubCredentials.from_settings(settings, lambda: broker.connection)

    async with serving(broker.connection, FixedTokenMinter(trust)):
        # A minter that could not read `GET /app` names no login: decided later, never by `GET /user`.
        with pytest.raises(GitHubUnavailableError, match="login"):
            await on_review(env.client, review, settings, credentials)
    async with serving(broker.connection, FixedTokenMinter(trust, login=login)):
        started = await on_review(env.client, review, settings, credentials)

        # A branch named like Paid's, opened by a person, is not Paid's pull request.
        emulator.add_user("rita", RITA)
        emulator.set_permission(repo.owner, repo.name, "rita", "write")
        theirs = await open_pull(emulator, repo, RITA, "paid/issue-2")
        on_theirs = await submit(emulator, TOKEN, repo, theirs, "REQUEST_CHANGES", [])
        assert await on_review(env.client, on_theirs, settings, credentials) is None

    assert started == pull_conversation_workflow_id(repo.full_name, number)
    assert not [r for r in emulator.access_log() if r.path.endswith("/user")][1:], "only the check above"
    await env.client.get_workflow_handle(started).terminate("the round was asked for; no worker here")


async def test_the_conversations_comment_on_an_app_project_is_found_again_by_the_apps_login(
    emulator: GitHubEmulator, broker: NatsBroker
) -> None:
    repo, run, _, login = await app_project(emulator)
    number = await open_pull(emulator, repo, run, "paid/issue-1")
    settings = ExecutorSettings(
        github_api_url=emulator.api_url, github_token="", github_credentials="minter", task_queue="nobody"
    )
    # The comment needs no database: a session factory bound to none.
    deps = make_deps(settings, broker, async_sessionmaker(class_=AsyncSession))
    activities, env = RoundActivities(deps), ActivityEnvironment()
    issue = IssueRef(repo=repo, number=1)
    async with serving(broker.connection, FixedTokenMinter(run, login=login)):
        first, again = [
            await env.run(
                activities.post_conversation_comment,
                ConversationCommentInput(issue=issue, number=number, body=body),
            )
            for body in ("1", "2")
        ]

    assert again == first, "edited in place, not written twice"
    comments = emulator.comments(repo.owner, repo.name, number)
    assert [(c["user"]["login"], c["body"].split("\n")[0]) for c in comments] == [(login, "2")]
