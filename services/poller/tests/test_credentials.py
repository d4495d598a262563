"""The poller's GitHub access through the token minter: each repository polled with the token the
minter gives for it (issues-only: it may comment on untrusted triggers, nothing more), never its own
default; a refused credential ends the cycle with the minter's reason before GitHub is asked."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from temporalio.testing import ActivityEnvironment

from paid_contracts import InstallationTokenReply, InstallationTokenRequest, subjects
from paid_poller.activities import PollerActivities
from paid_poller.params import PollRepositoryInput
from paid_runtime.github_credentials import GitHubCredentials

from .conftest import World


class RecordingMinter:
    def __init__(self, token: str) -> None:
        self.token = token
        self.refusal = ""
        self.requests: list[InstallationTokenRequest] = []

    async def answer(self, message: Msg) -> None:
        request = InstallationTokenRequest.model_validate_json(message.data)
        self.requests.append(request)
        if self.refusal:
            reply = InstallationTokenReply(error=self.refusal, error_kind="installation_refused")
        else:
            reply = InstallationTokenReply(token=self.token, source="app")
        await message.respond(reply.model_dump_json().encode())


@pytest.fixture
async def minter(broker: NatsBroker, world: World) -> AsyncIterator[RecordingMinter]:
    served = RecordingMinter(world.token)
    subscription = await broker.connection.subscribe(subjects.GITHUB_APP_MINT, cb=served.answer)
    await broker.connection.flush()
    yield served
    await subscription.unsubscribe()


def with_minter(activities: PollerActivities, broker: NatsBroker) -> PollerActivities:
    # A default token GitHub would refuse: polling succeeds only with the minter's.
    credentials = GitHubCredentials(lambda: broker.connection, global_token="ghp_refused_default_token")
    return dataclasses.replace(activities, default_token="ghp_refused_default_token", credentials=credentials)


async def test_each_repository_is_polled_with_the_minters_token(
    world: World, activities: PollerActivities, broker: NatsBroker, minter: RecordingMinter
) -> None:
    polling = with_minter(activities, broker)
    result = await ActivityEnvironment().run(
        polling.poll_repository, PollRepositoryInput(owner=world.owner, name=world.name)
    )
    assert result.rate_limited_until is None
    assert [(r.repository, r.purpose, r.job) for r in minter.requests] == [(world.full_name, "issues", None)]
    assert world.requests_counted() > 0, "GitHub was read with the minted token"


async def test_a_refused_credential_ends_the_cycle_before_github_is_asked(
    world: World, activities: PollerActivities, broker: NatsBroker, minter: RecordingMinter
) -> None:
    minter.refusal = "the GitHub App is uninstalled on this repository"
    polling = with_minter(activities, broker)
    before = len(world.emulator.access_log())
    with pytest.raises(RuntimeError, match="uninstalled"):
        await ActivityEnvironment().run(
            polling.poll_repository, PollRepositoryInput(owner=world.owner, name=world.name)
        )
    assert len(world.emulator.access_log()) == before
