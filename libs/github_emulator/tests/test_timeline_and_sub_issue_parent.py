"""The issue timeline, a sub-issue's parent and removing a sub-issue, through githubkit."""

from __future__ import annotations

from typing import Any, cast

import pytest
from githubkit.exception import RequestFailed

from .conftest import World
from .test_refs_pushes_and_merges import open_pull


def test_timeline_lists_events_comments_and_reviews_in_order(world: World) -> None:
    gh, owner, repo = world.owner_gh, world.owner, world.repo
    number = open_pull(world, "t", {"t.txt": "t\n"})
    gh.rest.issues.add_labels(owner, repo, number, labels=["bug"])
    world.emu.advance_clock(1)
    gh.rest.issues.create_comment(owner, repo, number, body="Looks fine.")
    world.emu.advance_clock(1)
    gh.rest.pulls.create_review(owner, repo, number, event="APPROVE", body="")
    world.emu.advance_clock(1)
    gh.rest.pulls.merge(owner, repo, number)
    # cast: githubkit types this list so that mypy cannot iterate it
    timeline = cast("list[Any]", gh.rest.issues.list_events_for_timeline(owner, repo, number).parsed_data)
    assert [getattr(entry, "event", None) for entry in timeline] == [
        "labeled",
        "commented",
        "reviewed",
        "merged",
        "closed",
    ]


def test_a_sub_issues_parent_and_removing_it(world: World) -> None:
    gh, owner, repo = world.owner_gh, world.owner, world.repo
    parent = gh.rest.issues.create(owner, repo, title="Parent").parsed_data
    child = gh.rest.issues.create(owner, repo, title="Child").parsed_data
    with pytest.raises(RequestFailed) as orphan:
        gh.rest.issues.get_parent(owner, repo, child.number)
    assert orphan.value.response.status_code == 404
    gh.rest.issues.add_sub_issue(owner, repo, parent.number, sub_issue_id=child.id)
    assert gh.rest.issues.get_parent(owner, repo, child.number).parsed_data.number == parent.number
    removed = gh.rest.issues.remove_sub_issue(owner, repo, parent.number, sub_issue_id=child.id).parsed_data
    assert removed.number == child.number
    assert gh.rest.issues.list_sub_issues(owner, repo, parent.number).parsed_data == []
    with pytest.raises(RequestFailed) as again:
        gh.rest.issues.remove_sub_issue(owner, repo, parent.number, sub_issue_id=child.id)
    assert again.value.response.status_code == 404
