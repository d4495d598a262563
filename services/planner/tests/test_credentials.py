"""The planner's GitHub access through the token minter: reads with read-only (`plan`) tokens, its
comments, labels and sub-issues with `issues` tokens, each for the issue's repository; a refusal fails
the step for good with the minter's reason. The minter here answers over real NATS like the gateway's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faststream.nats import NatsBroker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from paid_devstack.minter_stand_in import FixedTokenMinter, serving
from paid_planner.activities import PlannerActivities
from paid_planner.github import github_factory
from paid_planner.params import CommentInput, LabelChange
from paid_runtime.github_credentials import GitHubCredentials

from .conftest import World


@pytest.fixture
async def minter(broker: NatsBroker, world: World) -> AsyncIterator[FixedTokenMinter]:
    async with serving(broker.connection, FixedTokenMinter(world.bot_token)) as served:
        yield served


def activities_with_minter(world: World, broker: NatsBroker) -> PlannerActivities:
    credentials = GitHubCredentials(lambda: broker.connection, global_token="ghp_global_never_used")

    async def publish(event: object) -> None:
        raise AssertionError("nothing is published here")

    return PlannerActivities(
        sessions=None,  # type: ignore[arg-type]  # no activity here touches the database
        github=github_factory(world.emulator.api_url, credentials),
        llm=lambda: None,  # type: ignore[arg-type,return-value]
        publish=publish,
    )


async def test_reads_are_read_only_and_writes_touch_issues_only(
    world: World, broker: NatsBroker, minter: FixedTokenMinter
) -> None:
    activities = activities_with_minter(world, broker)
    environment = ActivityEnvironment()
    details = await environment.run(activities.fetch_issue, world.issue)
    assert details.title == "Split the widget API"
    comment = CommentInput(plan_id="p1", issue=world.issue, key="questions", body="Which database?")
    await environment.run(activities.upsert_comment, comment)
    await environment.run(
        activities.set_label, LabelChange(issue=world.issue, label="paid-needs-input", present=True)
    )

    repository = world.issue.repo.full_name
    assert [(r.repository, r.purpose, r.job) for r in minter.requests] == [
        (repository, "plan", None),
        (repository, "issues", None),
        (repository, "issues", None),
    ]
    assert "paid-needs-input" in world.labels()


async def test_a_refused_credential_fails_the_step_for_good(
    world: World, broker: NatsBroker, minter: FixedTokenMinter
) -> None:
    minter.refusal = "GitHub refused the App's credentials: check the App id and private key"
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(activities_with_minter(world, broker).fetch_issue, world.issue)
    assert failed.value.non_retryable
    assert "check the App id and private key" in str(failed.value)
    assert len(minter.requests) == 1
