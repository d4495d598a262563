"""poll_repository against the GitHub emulator (conditional GETs and rate limits as GitHub answers them)
and a real JetStream: what changed becomes the same events the webhook path publishes."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.testing import ActivityEnvironment

from paid_contracts import BuildRequested, IssueCommented, PlanRequested, TriggerSource
from paid_contracts.identity import comment_event_id, labeled_event_id
from paid_devstack.processes import wait_until
from paid_poller import repo
from paid_poller.activities import PollerActivities
from paid_poller.params import PollRepositoryInput, PollResult
from paid_runtime.github_trust import MARKER_PREFIX

MAINTAINER = "octo-org"


async def messages(broker: NatsBroker, subject: str) -> list[bytes]:
    """Every message on `subject` so far, read with an ephemeral ordered consumer."""
    js = broker.connection.jetstream()
    info = await js.stream_info("PAID_GITHUB")
    if not info.state.messages:
        return []
    subscription = await js.subscribe(subject, ordered_consumer=True)
    found = []
    try:
        while True:
            try:
                message = await subscription.next_msg(timeout=0.5)
            except TimeoutError:
                break
            found.append(message.data)
    finally:
        await subscription.unsubscribe()
    return found


async def events_for(broker: NatsBroker, subject: str, repo_name: str) -> list[dict[str, Any]]:
    import json

    decoded = [json.loads(data) for data in await messages(broker, subject)]
    return [event for event in decoded if event["correlation"]["repo"].endswith(f"/{repo_name}")]


def target_of(world: Any) -> PollRepositoryInput:
    return PollRepositoryInput(owner=world.owner, name=world.name)


async def test_an_unchanged_repository_costs_no_rate_limit_points(
    activities: PollerActivities, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    env = ActivityEnvironment()

    first = await env.run(activities.poll_repository, target_of(world))
    used_after_first = world.requests_counted()
    unchanged = [await env.run(activities.poll_repository, target_of(world)) for _ in range(3)]

    assert first.not_modified is False
    assert unchanged == [PollResult(not_modified=True)] * 3
    assert world.requests_counted() == used_after_first
    async with sessions() as session:
        state = await repo.get_poll_state(session, repo=world.full_name)
    assert state is not None
    assert state.events_etag
    assert state.comments_etag


async def test_a_labeling_becomes_the_event_the_webhook_path_would_publish(
    activities: PollerActivities, world: Any, broker: NatsBroker
) -> None:
    env = ActivityEnvironment()
    await env.run(activities.poll_repository, target_of(world))  # the baseline: history is not a trigger
    world.emulator.add_labels(world.owner, world.name, 1, ["paid-build"], as_user=MAINTAINER)
    issue = world.emulator.issue(world.owner, world.name, 1)

    result = await env.run(activities.poll_repository, target_of(world))
    again = await env.run(activities.poll_repository, target_of(world))

    assert (result.published, result.not_modified) == (1, False)
    assert again.published == 0
    [event] = await events_for(broker, "paid.github.build_requested", world.name)
    built = BuildRequested.model_validate(event)
    # The webhook carries the issue as it was after the labeling: its updated_at names the labeling.
    assert built.event_id == labeled_event_id(world.owner, world.name, 1, "paid-build", issue["updated_at"])
    assert (built.source, built.actor, built.issue.number) == (TriggerSource.POLL, MAINTAINER, 1)
    assert built.source_id.startswith("issue-event:")


async def test_other_labels_and_history_start_nothing(
    activities: PollerActivities, world: Any, broker: NatsBroker
) -> None:
    world.emulator.advance_clock(-5)  # a labeling seconds before polling began: history
    world.emulator.add_labels(world.owner, world.name, 1, ["paid-plan"], as_user=MAINTAINER)
    world.emulator.advance_clock(5)
    await ActivityEnvironment().run(activities.poll_repository, target_of(world))
    world.emulator.add_labels(world.owner, world.name, 1, ["bug"], as_user=MAINTAINER)

    result = await ActivityEnvironment().run(activities.poll_repository, target_of(world))

    assert result.published == 0
    assert await events_for(broker, "paid.github.plan_requested", world.name) == []


async def test_comments_in_the_same_second_as_the_cursor_are_not_missed(
    activities: PollerActivities, world: Any, broker: NatsBroker
) -> None:
    env = ActivityEnvironment()
    await env.run(activities.poll_repository, target_of(world))
    wait_until(lambda: time.time() % 1 < 0.3, timeout=2, what="the start of a second")
    first = world.emulator.create_comment(world.owner, world.name, 1, "Use SQLite.", as_user=MAINTAINER)
    await env.run(activities.poll_repository, target_of(world))
    second = world.emulator.create_comment(world.owner, world.name, 1, "And WAL mode.", as_user=MAINTAINER)
    assert first["updated_at"] == second["updated_at"]  # one second: `since` must include it

    result = await env.run(activities.poll_repository, target_of(world))

    assert result.published == 1
    found = [
        IssueCommented.model_validate(e)
        for e in await events_for(broker, "paid.github.issue_commented", world.name)
    ]
    assert [e.event_id for e in found] == [
        comment_event_id(world.owner, world.name, 1, first["id"]),
        comment_event_id(world.owner, world.name, 1, second["id"]),
    ]
    assert found[1].body == "And WAL mode."


async def test_paids_own_comments_are_not_events(
    activities: PollerActivities, world: Any, broker: NatsBroker
) -> None:
    env = ActivityEnvironment()
    await env.run(activities.poll_repository, target_of(world))
    world.emulator.create_comment(
        world.owner, world.name, 1, "Done.\n<!-- paid:run r1:result -->", as_user="paid-poller"
    )

    result = await env.run(activities.poll_repository, target_of(world))

    assert result.published == 0


@pytest.mark.parametrize("label", ["paid-plan", "paid-auto"])
async def test_an_untrusted_labeler_starts_nothing_and_gets_one_comment(
    activities: PollerActivities, world: Any, broker: NatsBroker, label: str
) -> None:
    world.emulator.add_user("stranger")
    env = ActivityEnvironment()
    await env.run(activities.poll_repository, target_of(world))
    world.emulator.add_labels(world.owner, world.name, 1, [label], as_user="stranger")

    result = await env.run(activities.poll_repository, target_of(world))

    assert (result.published, result.refused) == (0, 1)
    assert await events_for(broker, "paid.github.plan_requested", world.name) == []
    comments = world.emulator.comments(world.owner, world.name, 1)
    assert [MARKER_PREFIX in c["body"] for c in comments] == [True]
    assert "@stranger" in comments[0]["body"]
    # Paid's comment is a change; reading it again publishes and comments nothing more.
    assert (await env.run(activities.poll_repository, target_of(world))).published == 0
    assert len(world.emulator.comments(world.owner, world.name, 1)) == 1


async def test_an_exhausted_rate_limit_is_reported_with_the_reset_and_nothing_is_lost(
    activities: PollerActivities, world: Any, broker: NatsBroker
) -> None:
    env = ActivityEnvironment()
    await env.run(activities.poll_repository, target_of(world))
    world.emulator.add_labels(world.owner, world.name, 1, ["paid-plan"], as_user=MAINTAINER)
    # Three requests per 3 s window, two of them spent elsewhere: the events list passes, then 403.
    world.emulator.set_rate_limit(world.token, limit=3, window_seconds=3)
    for _ in range(2):
        httpx.get(f"{world.emulator.api_url}/user", headers={"Authorization": f"token {world.token}"})

    limited = await env.run(activities.poll_repository, target_of(world))

    assert limited.rate_limited_until is not None
    assert limited.rate_limited_until > time.time()
    assert limited.published == 0  # the trust check was refused: the labeling waits, it is not skipped
    wait_until(lambda: time.time() > (limited.rate_limited_until or 0) + 1, timeout=10, what="the reset")
    after_reset = await env.run(activities.poll_repository, target_of(world))
    assert (after_reset.published, after_reset.rate_limited_until) == (1, None)
    [event] = await events_for(broker, "paid.github.plan_requested", world.name)
    assert PlanRequested.model_validate(event).issue.number == 1


async def test_the_review_label_on_a_pull_request_becomes_a_review_request_pinned_to_its_head(
    activities: PollerActivities, world: Any, broker: NatsBroker
) -> None:
    owner_api = httpx.Client(
        base_url=f"{world.emulator.api_url}/repos/{world.owner}/{world.name}",
        headers={"Authorization": "token ghp_owner"},
    )
    main = owner_api.get("/git/ref/heads/main").json()["object"]["sha"]
    owner_api.post("/git/refs", json={"ref": "refs/heads/change", "sha": main}).raise_for_status()
    written = {"message": "m", "content": base64.b64encode(b"# W\n").decode(), "branch": "change"}
    blob = owner_api.get("/contents/README.md", params={"ref": "change"}).json()["sha"]
    owner_api.put("/contents/README.md", json=written | {"sha": blob}).raise_for_status()
    pull = owner_api.post("/pulls", json={"title": "A change", "head": "change", "base": "main"}).json()
    env = ActivityEnvironment()
    await env.run(activities.poll_repository, target_of(world))  # the baseline
    world.emulator.add_labels(world.owner, world.name, pull["number"], ["paid-review"], as_user=MAINTAINER)
    labeled_pull = owner_api.get(f"/pulls/{pull['number']}").json()

    await env.run(activities.poll_repository, target_of(world))

    [event] = await events_for(broker, "paid.github.review_requested", world.name)
    assert event["event_id"] == labeled_event_id(
        world.owner, world.name, pull["number"], "paid-review", labeled_pull["updated_at"]
    )
    assert (event["number"], event["head_sha"], event["requested_by"]) == (
        pull["number"],
        pull["head"]["sha"],
        MAINTAINER,
    )
    assert event["source"] == TriggerSource.POLL
