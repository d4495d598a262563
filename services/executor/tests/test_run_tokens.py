"""A run's GitHub access through the token minter (issue 20): the executor asks over NATS for the run's
own installation token at each use, keeps it out of every workflow payload, event and the sandbox, and
has it revoked when the run ends. The minter here answers like the gateway's, minting real tokens in
the GitHub emulator (services never import each other; the gateway's side is tested in its own tests)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx
import pytest
from faststream.nats import NatsBroker
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit_schemas.latest.types import AppPermissionsType
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from paid_contracts import (
    InstallationTokenReply,
    InstallationTokenRequest,
    InstallationTokensRelease,
    RepoRef,
    RunOutcome,
    subjects,
)
from paid_executor.workflows import workflow_id_for
from paid_github_emulator.server import GitHubEmulator

from .conftest import BUGGY_CALC, FIXED_CALC, TOKEN
from .loop_support import loop_request, loop_worker, run_to_end, script_agent
from .test_workflow import run_events

APP_PERMISSIONS = {"contents": "write", "pull_requests": "write", "issues": "write", "metadata": "read"}
RUN_PERMISSIONS = APP_PERMISSIONS


@dataclass
class EmulatedMinter:
    """Answers `paid.github_app.mint_token` and `release_job` with real installation tokens."""

    emulator: GitHubEmulator
    app_id: int
    pem: str
    installation_id: int = 0
    requests: list[InstallationTokenRequest] = field(default_factory=list)
    minted: dict[str | None, list[str]] = field(default_factory=dict)
    released: list[str] = field(default_factory=list)
    refuse: str = ""

    async def on_mint(self, message: Msg) -> None:
        request = InstallationTokenRequest.model_validate_json(message.data)
        self.requests.append(request)
        if self.refuse:
            reply = InstallationTokenReply(error=self.refuse, error_kind="installation_refused")
        else:
            async with GitHub(
                AppAuthStrategy(str(self.app_id), self.pem),
                base_url=f"{self.emulator.api_url}/",
                cache_strategy=MemCacheStrategy(),
                http_cache=False,
            ) as app:
                answer = await app.rest.apps.async_create_installation_access_token(
                    self.installation_id,
                    repositories=[request.repository.split("/")[1]],
                    permissions=cast(AppPermissionsType, RUN_PERMISSIONS),
                )
            token = answer.parsed_data.token
            self.minted.setdefault(request.job, []).append(token)
            reply = InstallationTokenReply(token=token, source="app")
        await message.respond(reply.model_dump_json().encode())

    async def on_release(self, message: Msg) -> None:
        job = InstallationTokensRelease.model_validate_json(message.data).job
        self.released.append(job)
        async with httpx.AsyncClient() as client:
            for token in self.minted.get(job, []):
                headers = {"Authorization": f"token {token}"}
                await client.delete(f"{self.emulator.api_url}/installation/token", headers=headers)
        await message.respond(InstallationTokenReply().model_dump_json().encode())


@pytest.fixture
async def minter(emulator: GitHubEmulator, broker: NatsBroker) -> AsyncIterator[EmulatedMinter]:
    emulator.add_user("alice", TOKEN)
    app, pem = emulator.create_app("alice", "Paid", permissions=APP_PERMISSIONS)
    served = EmulatedMinter(emulator, app.id, pem)
    connection = broker.connection
    subscriptions = [
        await connection.subscribe(subjects.GITHUB_APP_MINT, cb=served.on_mint),
        await connection.subscribe(subjects.GITHUB_APP_RELEASE_JOB, cb=served.on_release),
    ]
    await connection.flush()
    yield served
    for subscription in subscriptions:
        await subscription.unsubscribe()


def make_repos(emulator: GitHubEmulator, minter: EmulatedMinter) -> tuple[RepoRef, RepoRef]:
    """Two repositories, both in the App's installation; only the first has an issue to work on."""
    names = [f"calc-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        emulator.create_repository("alice", name, {"calc.py": BUGGY_CALC})
    minter.installation_id = emulator.install_app(minter.app_id, "alice", names).id
    emulator.create_issue("alice", names[0], title="add() subtracts", body="add(2, 3) is -1", as_user="alice")
    return RepoRef(owner="alice", name=names[0]), RepoRef(owner="alice", name=names[1])


def fingerprint(token: str) -> str:
    return "installation-token:" + hashlib.sha256(token.encode()).hexdigest()[:12]


async def test_a_run_uses_its_own_minted_token_and_revokes_it_at_the_end(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    minter: EmulatedMinter,
    tmp_path: Path,
) -> None:
    repo, other = make_repos(emulator, minter)
    report = tmp_path / "agent-saw.json"
    # The agent fixes the bug, tries to push to another repository with whatever git holds, and
    # reports everything it can see: its environment and the worktree's git configuration.
    agent = script_agent(
        tmp_path / "agent.py",
        "import subprocess\n"
        f"pathlib.Path('calc.py').write_text({FIXED_CALC!r})\n"
        f"push = subprocess.run(['git', 'push', {emulator.git_url('alice', other.name)!r}, 'HEAD:stolen'],"
        " capture_output=True, text=True)\n"
        "seen = {'env': dict(os.environ), 'config': pathlib.Path('.git/config').read_text(),"
        " 'push': push.returncode}\n"
        f"pathlib.Path({str(report)!r}).write_text(json.dumps(seen))\n",
    )
    async with loop_worker(
        env,
        emulator,
        engine,
        broker,
        tmp_path / "ws",
        github_credentials="minter",
        github_token="",  # an App-only deployment: no global token at all
        agent_command=agent,
    ) as worker:
        request = loop_request(repo)
        result = await run_to_end(env.client, request, worker.task_queue)

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    job = f"run:{result.run_id}"
    assert {(r.repository, r.purpose, r.job) for r in minter.requests} == {(repo.full_name, "run", job)}
    # Asked once: every GitHub step of the run (issue, worktree, pushes, PR, comments) re-used it.
    assert len(minter.requests) == 1, len(minter.requests)
    run_tokens = minter.minted[job]
    assert minter.released == [job]

    # Every request of the run to GitHub (REST and git) used one of its own installation tokens.
    fingerprints = {fingerprint(token) for token in run_tokens}
    touched = [r for r in emulator.access_log() if repo.name in r.path]
    assert touched
    assert {r.credential for r in touched} <= fingerprints, {r.credential for r in touched}
    assert not [r for r in emulator.access_log() if other.name in r.path and r.status < 400]
    assert emulator.branch_sha("alice", other.name, "stolen") is None

    # The pull request is the App's; every token of the run is dead once the run ended.
    pulls = emulator.pulls("alice", repo.name)
    assert len(pulls) == 1
    assert pulls[0]["user"]["login"].endswith("[bot]")
    for token in run_tokens:
        answer = httpx.get(
            f"{emulator.api_url}/repos/alice/{repo.name}", headers={"Authorization": f"token {token}"}
        )
        assert answer.status_code == 401

    # No token in the workflow's history (inputs, results, heartbeats), the run's events or the sandbox.
    history = await env.client.get_workflow_handle(workflow_id_for(request.issue)).fetch_history()
    events = json.dumps(await run_events(broker, result.run_id))
    saw = report.read_text()
    for token in run_tokens:
        assert token not in history.to_json()
        assert token not in events
        assert token not in saw
    assert "ghs_" not in saw
    assert json.loads(saw)["push"] != 0


async def test_a_refused_credential_fails_the_run_at_once(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    minter: EmulatedMinter,
    tmp_path: Path,
) -> None:
    repo, _ = make_repos(emulator, minter)
    minter.refuse = "the GitHub App is uninstalled on this repository"
    async with loop_worker(
        env, emulator, engine, broker, tmp_path / "ws", github_credentials="minter", github_token=""
    ) as worker:
        with pytest.raises(WorkflowFailureError) as failed:
            await run_to_end(env.client, loop_request(repo), worker.task_queue)
    assert "uninstalled" in str(failed.value.cause)
    # Refused for good: asked for the issue and for the result comment, then the run ended; no loop.
    assert len(minter.requests) <= 3, len(minter.requests)
    assert minter.released  # the end of the run was still announced to the minter
    assert emulator.pulls("alice", repo.name) == []
    assert emulator.comments("alice", repo.name, 1) == []  # nothing could write one
    finished = await finished_event(broker, repo)
    assert "no credential can comment on the issue" in finished["detail"], finished["detail"]
    assert "PAID_EXECUTOR_GITHUB_TOKEN" in finished["detail"]


async def test_a_refused_credential_still_gets_one_clear_comment_from_the_global_token(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    minter: EmulatedMinter,
    tmp_path: Path,
) -> None:
    repo, _ = make_repos(emulator, minter)
    minter.refuse = "the GitHub App is uninstalled on this repository"
    async with loop_worker(
        env, emulator, engine, broker, tmp_path / "ws", github_credentials="minter", github_token=TOKEN
    ) as worker:
        with pytest.raises(WorkflowFailureError):
            await run_to_end(env.client, loop_request(repo), worker.task_queue)
    (comment,) = emulator.comments("alice", repo.name, 1)
    assert comment["user"]["login"] == "alice"  # the global token's identity, not the refused App's
    assert "uninstalled" in comment["body"]
    assert len(minter.requests) <= 3, len(minter.requests)
    written = [r for r in emulator.access_log() if r.method == "POST" and r.path.endswith("/comments")]
    assert len(written) == 1


async def finished_event(broker: NatsBroker, repo: RepoRef) -> dict[str, object]:
    js = broker.connection.jetstream()
    info = await js.stream_info("PAID_RUN")
    for seq in range(info.state.last_seq, info.state.first_seq - 1, -1):
        event = json.loads((await js.get_msg("PAID_RUN", seq)).data or b"{}")
        if event.get("type") == "paid.run.finished" and event["issue"]["repo"]["name"] == repo.name:
            return cast(dict[str, object], event)
    raise AssertionError(f"no paid.run.finished for {repo.name}")
