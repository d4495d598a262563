"""`/paid` commands in comments, acted on by the executor against the GitHub emulator and Temporal's
test server: a trusted `/paid retry` starts the issue's attempt once however often it is delivered,
`/paid cancel` reaches the running attempt, an unknown command gets one help reply, and a read-only
user's commands start and stop nothing; the author's trust is read with the repository's minted token.
No worker polls the queue: what is asserted is what started."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from typing import cast

import pytest
from faststream.nats import NatsBroker
from githubkit import AppAuthStrategy, GitHub
from githubkit_schemas.latest.types import AppPermissionsType
from temporalio.testing import WorkflowEnvironment

from paid_contracts import IssueCommented, IssueRef, RepoRef
from paid_devstack.minter_stand_in import FixedTokenMinter, serving
from paid_executor import subscribers
from paid_executor.attempts import attempts_of
from paid_executor.comment_commands import CommandContext, act_on_command
from paid_executor.config import ExecutorSettings
from paid_executor.params import ExecutionInput
from paid_github_emulator.server import GitHubEmulator
from paid_github_events import listed_comment
from paid_runtime.github_credentials import GitHubCredentials
from paid_runtime.github_trust import github_client

from .conftest import BUGGY_CALC, TOKEN

RITA, MALLORY = "ghp_rita_token", "ghp_mallory_token"


@pytest.fixture
def repository(emulator: GitHubEmulator) -> RepoRef:
    emulator.add_user("alice", TOKEN)
    emulator.add_user("rita", RITA)
    emulator.add_user("mallory", MALLORY)
    name = f"calc-{uuid.uuid4().hex[:8]}"
    emulator.create_repository("alice", name, {"calc.py": BUGGY_CALC})
    emulator.set_permission("alice", name, "rita", "write")
    emulator.set_permission("alice", name, "mallory", "read")
    emulator.create_issue("alice", name, title="add() subtracts", body="it does", as_user="alice")
    return RepoRef(owner="alice", name=name)


@pytest.fixture
def prepared() -> list[ExecutionInput]:
    """The requests commands asked to start, as `prepare` saw them."""
    return []


@pytest.fixture
def context(emulator: GitHubEmulator, prepared: list[ExecutionInput]) -> CommandContext:
    settings = ExecutorSettings(
        github_api_url=emulator.api_url,
        github_token=TOKEN,
        task_queue=f"nobody-polls-{uuid.uuid4()}",
        allowed_agents=["codex"],
    )

    async def unchanged(request: ExecutionInput) -> ExecutionInput:
        prepared.append(request)
        return request

    return CommandContext(
        settings=settings,
        prepare=unchanged,
        to_request=lambda event, issue: subscribers.from_command(event, issue, settings),
        pull_states=subscribers.github_pull_states(settings, GitHubCredentials.fixed(TOKEN)),
        explain=subscribers.github_explanations(settings, GitHubCredentials.fixed(TOKEN)),
        credentials=GitHubCredentials.fixed(TOKEN),
    )


async def comment(emulator: GitHubEmulator, repo: RepoRef, token: str, body: str) -> IssueCommented:
    async with github_client(emulator.api_url, token) as github:
        created = await github.post(f"/repos/{repo.owner}/{repo.name}/issues/1/comments", json={"body": body})
        created.raise_for_status()
    event = listed_comment(repo, created.json(), producer="test")
    assert event is not None
    return event


async def test_a_trusted_retry_starts_one_attempt_and_cancel_reaches_it(
    env: WorkflowEnvironment, emulator: GitHubEmulator, repository: RepoRef, context: CommandContext
) -> None:
    issue = IssueRef(repo=repository, number=1)
    retry = await comment(emulator, repository, RITA, "Let's go again.\n/paid retry")
    assert retry.command == "retry"

    assert await act_on_command(env.client, retry, context) == "started"
    assert await act_on_command(env.client, retry, context) == "started"  # redelivered: the same attempt
    attempts = await attempts_of(env.client, issue)
    assert len(attempts) == 1
    assert await attempts[0].trigger() == retry.event_id

    cancel = await comment(emulator, repository, RITA, "/paid cancel")
    assert await act_on_command(env.client, cancel, context) == "cancelled"


async def test_a_read_only_users_commands_do_nothing_and_an_unknown_one_gets_one_help(
    env: WorkflowEnvironment, emulator: GitHubEmulator, repository: RepoRef, context: CommandContext
) -> None:
    issue = IssueRef(repo=repository, number=1)
    for body in ("/paid retry", "/paid build", "/paid stop", "/paid frobnicate"):
        event = await comment(emulator, repository, MALLORY, body)
        assert (
            await act_on_command(env.client, event, context)
            == "ignored: mallory has read permission, write is needed"
        )
    assert await attempts_of(env.client, issue) == []

    unknown = await comment(emulator, repository, RITA, "/paid frobnicate")
    assert await act_on_command(env.client, unknown, context) == "help"
    assert await act_on_command(env.client, unknown, context) == "help"
    helps = [c for c in emulator.comments("alice", repository.name, 1) if "did not recognise" in c["body"]]
    assert len(helps) == 1
    assert "`/paid retry`" in helps[0]["body"]


async def test_a_trusted_build_chooses_an_allowed_agent_and_model(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    repository: RepoRef,
    context: CommandContext,
    prepared: list[ExecutionInput],
) -> None:
    build = await comment(emulator, repository, RITA, "/paid build agent=codex model=gpt-5")
    assert await act_on_command(env.client, build, context) == "started"
    assert [(r.trigger_agent, r.trigger_model) for r in prepared] == [("codex", "gpt-5")]
    assert prepared[0].agent == "demo", "the project's agent stays the lowest level"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("/paid build agent=command", "does not allow"),  # the operator's command line, never a user's
        ("/paid build agent=gemini", "does not allow"),  # known, but not in ALLOWED_AGENTS
        ("/paid build agent=evil", "unknown agent"),
        ("/paid build agent=codex model=$(id)", "not a plain model name"),
        ("/paid build agent=codex --yolo", "takes only"),
    ],
)
async def test_a_build_outside_the_allowed_agents_is_refused_with_one_comment(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    repository: RepoRef,
    context: CommandContext,
    prepared: list[ExecutionInput],
    body: str,
    why: str,
) -> None:
    build = await comment(emulator, repository, RITA, body)
    assert (await act_on_command(env.client, build, context)).startswith("refused")
    assert (await act_on_command(env.client, build, context)).startswith("refused")  # redelivered
    assert prepared == []
    assert await attempts_of(env.client, IssueRef(repo=repository, number=1)) == []
    refusals = [
        c["body"] for c in emulator.comments("alice", repository.name, 1) if "did not start" in c["body"]
    ]
    assert len(refusals) == 1
    assert why in refusals[0]
    if why in ("does not allow", "takes only"):
        assert "demo, codex)" in refusals[0], "the refusal says which agents may be chosen"


async def test_an_untrusted_users_agent_choice_starts_nothing(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    repository: RepoRef,
    context: CommandContext,
    prepared: list[ExecutionInput],
) -> None:
    build = await comment(emulator, repository, MALLORY, "/paid build agent=codex")
    assert (
        await act_on_command(env.client, build, context)
        == "ignored: mallory has read permission, write is needed"
    )
    assert prepared == []


async def installation_token(emulator: GitHubEmulator, repository: RepoRef) -> str:
    """An `issues` token of Paid's App for the repository alone, minted as the gateway's minter would."""
    permissions = {"contents": "read", "pull_requests": "read", "issues": "write", "metadata": "read"}
    app, pem = emulator.create_app("alice", f"Paid {uuid.uuid4().hex[:6]}", permissions=permissions)
    installation = emulator.install_app(app.id, "alice", [repository.name])
    async with GitHub(AppAuthStrategy(str(app.id), pem), base_url=f"{emulator.api_url}/") as github:
        answer = await github.rest.apps.async_create_installation_access_token(
            installation.id, repositories=[repository.name], permissions=cast(AppPermissionsType, permissions)
        )
    return answer.parsed_data.token


async def test_the_trust_check_reads_with_the_repositorys_minted_token_never_a_global_one(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    repository: RepoRef,
    context: CommandContext,
    broker: NatsBroker,
) -> None:
    token = await installation_token(emulator, repository)
    settings = context.settings.model_copy(update={"github_token": "", "github_credentials": "minter"})
    credentials = GitHubCredentials.from_settings(settings, lambda: broker.connection)
    minted = replace(context, settings=settings, credentials=credentials)
    issue = IssueRef(repo=repository, number=1)
    async with serving(broker.connection, FixedTokenMinter(token)) as minter:
        mallory = await comment(emulator, repository, MALLORY, "/paid retry")
        assert await act_on_command(env.client, mallory, minted) == (
            "ignored: mallory has read permission, write is needed"
        )
        unknown = await comment(emulator, repository, RITA, "/paid frobnicate")
        assert await act_on_command(env.client, unknown, minted) == "help"
        retry = await comment(emulator, repository, RITA, "/paid retry")
        assert await act_on_command(env.client, retry, minted) == "started"
        assert {(r.repository, r.purpose, r.job) for r in minter.requests} == {
            (repository.full_name, "issues", None)
        }

        minter.refusal = "the GitHub App was uninstalled from this repository"
        again = await comment(emulator, repository, RITA, "/paid build")
        assert await act_on_command(env.client, again, minted) == (
            f"ignored: no GitHub credential for {repository.full_name}: {minter.refusal}"
        )
    assert len(await attempts_of(env.client, issue)) == 1
    permission_reads = [r for r in emulator.access_log() if "/collaborators/" in r.path]
    fingerprint = "installation-token:" + hashlib.sha256(token.encode()).hexdigest()[:12]
    assert permission_reads
    assert {r.credential for r in permission_reads} == {fingerprint}
    (help_reply,) = [
        c for c in emulator.comments("alice", repository.name, 1) if "did not recognise" in c["body"]
    ]
    assert help_reply["user"]["login"].endswith("[bot]")
