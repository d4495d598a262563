"""The poller's GitHub access through the token minter: each repository polled with the token the
minter gives for it (issues-only: it may comment on untrusted triggers, nothing more), never its own
default; a refused credential ends the cycle with the minter's reason before GitHub is asked."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from faststream.nats import NatsBroker
from temporalio.testing import ActivityEnvironment

from paid_devstack.minter_stand_in import FixedTokenMinter, serving
from paid_poller.activities import PollerActivities
from paid_poller.params import PollRepositoryInput
from paid_runtime.github_credentials import GitHubCredentials

from .conftest import World


@pytest.fixture
async def minter(broker: NatsBroker, world: World) -> AsyncIterator[FixedTokenMinter]:
    async with serving(
        broker.connection, FixedTokenMinter(world.token, refusal_kind="installation_refused")
    ) as served:
        yield served


def with_minter(activities: PollerActivities, broker: NatsBroker) -> PollerActivities:
    # A default token GitHub would refuse: polling succeeds only with the minter's.
    credentials = GitHubCredentials(lambda: broker.connection, global_token="ghp_refused_default_token")
    return dataclasses.replace(activities, default_token="ghp_refused_default_token", credentials=credentials)


async def test_each_repository_is_polled_with_the_minters_token(
    world: World, activities: PollerActivities, broker: NatsBroker, minter: FixedTokenMinter
) -> None:
    polling = with_minter(activities, broker)
    result = await ActivityEnvironment().run(
        polling.poll_repository, PollRepositoryInput(owner=world.owner, name=world.name)
    )
    assert result.rate_limited_until is None
    assert [(r.repository, r.purpose, r.job) for r in minter.requests] == [(world.full_name, "issues", None)]
    assert world.requests_counted() > 0, "GitHub was read with the minted token"


async def test_a_refused_credential_ends_the_cycle_before_github_is_asked(
    world: World, activities: PollerActivities, broker: NatsBroker, minter: FixedTokenMinter
) -> None:
    minter.refusal = "the GitHub App is uninstalled on this repository"
    polling = with_minter(activities, broker)
    before = len(world.emulator.access_log())
    with pytest.raises(RuntimeError, match="uninstalled"):
        await ActivityEnvironment().run(
            polling.poll_repository, PollRepositoryInput(owner=world.owner, name=world.name)
        )
    assert len(world.emulator.access_log()) == before
