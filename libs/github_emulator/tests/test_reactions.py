"""Reactions on issue comments, as githubkit calls them: one per user and content (a second answers the
first with 200), counted in the comment's `reactions`; an unknown content is refused."""

from __future__ import annotations

import httpx

from .conftest import World


def test_a_reaction_on_a_comment_is_created_once_and_counted(world: World) -> None:
    world.owner_gh.rest.issues.create(world.owner, world.repo, title="t")
    comment = world.owner_gh.rest.issues.create_comment(
        world.owner, world.repo, 1, body="/paid review"
    ).parsed_data
    bot = world.bot_gh.rest.reactions
    first = bot.create_for_issue_comment(world.owner, world.repo, comment.id, content="eyes")
    again = bot.create_for_issue_comment(world.owner, world.repo, comment.id, content="eyes")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.parsed_data.id == again.parsed_data.id
    assert first.parsed_data.user is not None
    assert (first.parsed_data.user.login, first.parsed_data.content) == ("paid-bot", "eyes")
    world.owner_gh.rest.reactions.create_for_issue_comment(world.owner, world.repo, comment.id, content="+1")

    listed = bot.list_for_issue_comment(world.owner, world.repo, comment.id).parsed_data
    assert sorted((r.user.login if r.user else "", r.content) for r in listed) == [
        ("octo-org", "+1"),
        ("paid-bot", "eyes"),
    ]
    counted = world.owner_gh.rest.issues.get_comment(world.owner, world.repo, comment.id).parsed_data
    assert counted.reactions is not None
    assert (counted.reactions.total_count, counted.reactions.eyes, counted.reactions.plus_one) == (2, 1, 1)
    raw = httpx.post(
        f"{world.emu.api_url}/repos/{world.owner}/{world.repo}/issues/comments/{comment.id}/reactions",
        headers={"Authorization": f"token {world.bot_token}"},
        json={"content": "thumbsup"},
    )
    assert raw.status_code == 422
