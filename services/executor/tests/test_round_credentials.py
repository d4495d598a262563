"""A submitted review is judged with the repository's own read-only token from the minter (issue 20):
never the executor's global token, and nothing is asked of GitHub when the project's credential is
refused. The full review round, on fixed credentials, is test_review_round.py (heavy)."""

from __future__ import annotations

import hashlib
import uuid

from faststream.nats import NatsBroker
from temporalio.testing import WorkflowEnvironment

from paid_contracts import PullRequestReviewed, RepoRef
from paid_devstack.minter_stand_in import FixedTokenMinter, serving
from paid_executor.config import ExecutorSettings
from paid_executor.rounds.subscribers import on_review
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.github_credentials import GitHubCredentials

from .conftest import BUGGY_CALC, TOKEN
from .test_comment_commands import installation_token


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
