"""poll_repository against the GitHub emulator (which answers conditional GETs as GitHub does)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import ActivityEnvironment

from paid_poller import repo
from paid_poller.activities import PollerActivities
from paid_poller.params import PollRepositoryInput, PollResult


async def test_an_unchanged_repository_costs_no_rate_limit_and_reports_nothing(
    activities: PollerActivities, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    target = PollRepositoryInput(owner=world.owner, name=world.name)
    env = ActivityEnvironment()

    first = await env.run(activities.poll_repository, target)
    used_after_first = world.requests_counted()
    second = await env.run(activities.poll_repository, target)

    assert first == PollResult(changed_issues=1, not_modified=False)
    assert second == PollResult(changed_issues=0, not_modified=True)
    assert world.requests_counted() == used_after_first
    async with sessions() as session:
        state = await repo.get_poll_state(session, repo=world.full_name)
    assert state is not None
    assert state.etag
    assert list(state.seen) == ["1"]


async def test_counts_only_the_issues_changed_since_the_last_poll(
    activities: PollerActivities, world: Any
) -> None:
    target = PollRepositoryInput(owner=world.owner, name=world.name)
    env = ActivityEnvironment()
    await env.run(activities.poll_repository, target)

    world.emulator.create_issue(world.owner, world.name, title="Second issue", as_user=world.owner)
    world.emulator.create_issue(world.owner, world.name, title="Third issue", as_user=world.owner)
    after_two_new = await env.run(activities.poll_repository, target)
    unchanged = await env.run(activities.poll_repository, target)

    assert after_two_new == PollResult(changed_issues=2, not_modified=False)
    assert unchanged == PollResult(changed_issues=0, not_modified=True)
