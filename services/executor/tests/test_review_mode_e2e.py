"""Review mode through NATS: the executor's own subscribers (as `paid_executor.main` registers them)
receive the translator's ReviewRequested for the label on a fork's pull request and a trusted user's
`/paid review` on it, each published twice (redeliveries); exactly one COMMENT review is posted, and
the command gets one reaction. Heavy: the short form, which calls the handlers directly, is
test_review_mode_trigger.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from faststream.nats import NatsBroker
from temporalio.client import Client

from paid_contracts import RepoRef
from paid_devstack.nats import NatsServer
from paid_devstack.waiting import wait_until_async
from paid_executor import subscribers
from paid_executor.config import ExecutorSettings
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.messaging import make_broker, publish_event

from .review_fork_support import CANARY, RITA, hostile_fork_pull
from .test_review_mode_trigger import client, command, labeled, reactions, repository, reviews, settings

__all__ = ["client", "repository", "settings"]  # fixtures shared with the short form

pytestmark = pytest.mark.heavy


@pytest.fixture
async def consuming_broker(
    nats_server: NatsServer, client: Client, settings: ExecutorSettings
) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_server.url, "executor-review-mode-test")
    subscribers.register(broker, client, settings)
    await broker.start()
    yield broker
    await broker.stop()


async def test_the_label_and_the_command_through_nats_post_one_review(
    emulator: GitHubEmulator, repository: RepoRef, consuming_broker: NatsBroker, tmp_path: Path
) -> None:
    emulator.create_hook(
        repository.owner, repository.name, "http://127.0.0.1:9/unused", events=["pull_request"]
    )
    number, _ = hostile_fork_pull(emulator, repository, tmp_path, tmp_path / CANARY)
    label = labeled(emulator, repository, number, as_user="rita")
    said = await command(emulator, repository, number, RITA)
    for event in (label, said, label, said):  # each twice: a redelivery is the same change
        await publish_event(consuming_broker, event)

    async def reviewed_and_acknowledged() -> bool:
        return bool(reviews(emulator, repository, number)) and bool(
            reactions(emulator, repository, said.comment_id)
        )

    await wait_until_async(reviewed_and_acknowledged, timeout=120, what="the review and the reaction")
    [review] = reviews(emulator, repository, number)
    assert (review["user"]["login"], review["state"], review["commit_id"]) == (
        "alice",
        "COMMENTED",
        label.head_sha,
    )
    assert [(c["path"], c["line"]) for c in review["comments"]] == [("notes.py", 15)]
    assert reactions(emulator, repository, said.comment_id) == [("alice", "eyes")]
    assert not (tmp_path / CANARY).exists()
