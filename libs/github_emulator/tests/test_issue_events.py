"""The Issue Events API, the repository-wide comment list and per-token rate limits, parsed by githubkit."""

from __future__ import annotations

import httpx

from .conftest import World


def test_labeling_is_listed_as_an_issue_event_at_the_issues_updated_at(world: World) -> None:
    number = world.emu.create_issue(world.owner, world.repo, title="Build me", as_user=world.owner)["number"]
    world.emu.add_labels(world.owner, world.repo, number, ["paid-build"], as_user=world.owner)
    issue = world.emu.issue(world.owner, world.repo, number)

    events = world.bot_gh.rest.issues.list_events_for_repo(world.owner, world.repo).parsed_data

    labeled = [event for event in events if event.event == "labeled"]
    assert len(labeled) == 1
    event = labeled[0]
    assert event.actor
    assert event.actor.login == world.owner
    assert event.issue
    assert event.issue.number == number
    assert event.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") == issue["updated_at"]
    raw = httpx.get(
        f"{world.emu.api_url}/repos/{world.owner}/{world.repo}/issues/events",
        headers={"Authorization": f"token {world.bot_token}"},
    ).json()
    assert raw[0]["label"]["name"] == "paid-build"
    single = world.bot_gh.rest.issues.get_event(world.owner, world.repo, event.id).parsed_data
    assert single.id == event.id


def test_repository_events_are_newest_first_and_an_issues_oldest_first(world: World) -> None:
    number = world.emu.create_issue(world.owner, world.repo, title="t", as_user=world.owner)["number"]
    world.emu.add_labels(world.owner, world.repo, number, ["a"], as_user=world.owner)
    world.emu.remove_label(world.owner, world.repo, number, "a", as_user=world.owner)
    world.owner_gh.rest.issues.update(world.owner, world.repo, number, state="closed")

    repo_wide = world.bot_gh.rest.issues.list_events_for_repo(world.owner, world.repo).parsed_data
    # githubkit's union for one issue's events lacks the state-change event GitHub sends: read raw JSON.
    of_issue = httpx.get(
        f"{world.emu.api_url}/repos/{world.owner}/{world.repo}/issues/{number}/events",
        headers={"Authorization": f"token {world.bot_token}"},
    ).json()

    assert [e.event for e in repo_wide] == ["closed", "unlabeled", "labeled"]
    assert [e["event"] for e in of_issue] == ["labeled", "unlabeled", "closed"]
    assert [e.id for e in repo_wide] == sorted((e.id for e in repo_wide), reverse=True)


def test_unchanged_events_answer_304_for_free(world: World) -> None:
    url = f"{world.emu.api_url}/repos/{world.owner}/{world.repo}/issues/events"
    auth = {"Authorization": f"token {world.bot_token}"}
    first = httpx.get(url, headers=auth)
    again = httpx.get(url, headers=auth | {"If-None-Match": first.headers["etag"]})
    assert (first.status_code, again.status_code) == (200, 304)
    assert world.emu.rate_limit_usage(world.bot_token).used == 1


def test_repository_comments_since_include_the_same_second(world: World) -> None:
    number = world.emu.create_issue(world.owner, world.repo, title="t", as_user=world.owner)["number"]
    first = world.emu.create_comment(world.owner, world.repo, number, "one", as_user=world.owner)
    second = world.emu.create_comment(world.owner, world.repo, number, "two", as_user=world.reader)

    comments = world.bot_gh.rest.issues.list_comments_for_repo(
        world.owner, world.repo, since=first["created_at"], sort="created", direction="asc"
    ).parsed_data

    assert [c.id for c in comments] == [first["id"], second["id"]]


def test_a_tokens_own_limit_is_enforced_with_retry_after(world: World) -> None:
    world.emu.set_rate_limit(world.bot_token, limit=1, window_seconds=60)
    url = f"{world.emu.api_url}/user"
    bot, owner = (
        {"Authorization": f"token {world.bot_token}"},
        {"Authorization": f"token {world.owner_token}"},
    )
    assert httpx.get(url, headers=bot).status_code == 200
    refused = httpx.get(url, headers=bot)
    assert refused.status_code == 403
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert httpx.get(url, headers=owner).status_code == 200  # other tokens keep the default
