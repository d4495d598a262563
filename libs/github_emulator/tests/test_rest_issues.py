"""Issues, labels and comments, read through githubkit so its models prove the response shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from githubkit.exception import RequestFailed

from .conftest import World


def test_repository_and_authenticated_user_parse(world: World) -> None:
    repo = world.owner_gh.rest.repos.get(world.owner, world.repo).parsed_data
    assert repo.full_name == "octo-org/widgets"
    assert repo.default_branch == "main"
    assert repo.html_url == f"{world.emu.base_url}/octo-org/widgets"
    assert repo.clone_url == world.emu.git_url("octo-org", "widgets")
    assert repo.permissions
    assert repo.permissions.admin
    assert repo.owner.login == "octo-org"

    me = world.bot_gh.rest.users.get_authenticated().parsed_data
    assert me.login == "paid-bot"


def test_bad_token_gets_githubs_401(world: World) -> None:
    response = httpx.get(f"{world.emu.api_url}/user", headers={"Authorization": "token nope"})
    assert response.status_code == 401
    assert response.json()["message"] == "Bad credentials"
    assert "documentation_url" in response.json()
    with pytest.raises(RequestFailed) as failure:
        world.client("nope").rest.users.get_authenticated()
    assert failure.value.response.status_code == 401


def test_issue_create_get_update_attributed_to_token_user(world: World) -> None:
    gh = world.client(world.reader_token)
    created = gh.rest.issues.create(world.owner, world.repo, title="Add widgets", body="Please").parsed_data
    assert created.number == 1
    assert created.user
    assert created.user.login == "reader"
    assert created.html_url == f"{world.emu.base_url}/octo-org/widgets/issues/1"

    fetched = world.owner_gh.rest.issues.get(world.owner, world.repo, 1).parsed_data
    assert (fetched.title, fetched.body, fetched.state) == ("Add widgets", "Please", "open")

    updated = world.owner_gh.rest.issues.update(
        world.owner, world.repo, 1, title="Add more widgets", state="closed", labels=["enhancement"]
    ).parsed_data
    assert updated.title == "Add more widgets"
    assert updated.state == "closed"
    assert updated.closed_by
    assert updated.closed_by.login == "octo-org"
    assert [label.name for label in updated.labels if not isinstance(label, str)] == ["enhancement"]


def test_reader_cannot_label_others_issue(world: World) -> None:
    world.owner_gh.rest.issues.create(world.owner, world.repo, title="t")
    with pytest.raises(RequestFailed) as failure:
        world.client(world.reader_token).rest.issues.add_labels(world.owner, world.repo, 1, labels=["bug"])
    assert failure.value.response.status_code == 403


def test_list_filters_and_link_pagination(world: World) -> None:
    gh = world.owner_gh
    for n in range(5):
        gh.rest.issues.create(
            world.owner, world.repo, title=f"issue {n}", labels=["paid"] if n % 2 == 0 else []
        )
    gh.rest.issues.update(world.owner, world.repo, 5, state="closed")

    open_paid = gh.rest.issues.list_for_repo(world.owner, world.repo, labels="paid").parsed_data
    assert [issue.number for issue in open_paid] == [3, 1]
    everything = gh.rest.issues.list_for_repo(world.owner, world.repo, state="all").parsed_data
    assert [issue.number for issue in everything] == [5, 4, 3, 2, 1]

    page = gh.rest.issues.list_for_repo(world.owner, world.repo, state="all", per_page=2, page=2)
    assert [issue.number for issue in page.parsed_data] == [3, 2]
    link = page.headers["link"]
    assert 'rel="next"' in link
    assert 'rel="prev"' in link
    assert 'rel="last"' in link
    assert f"{world.emu.api_url}/repos/octo-org/widgets/issues?" in link
    all_pages = list(
        gh.paginate(gh.rest.issues.list_for_repo, owner=world.owner, repo=world.repo, state="all", per_page=2)
    )
    assert len(all_pages) == 5

    future = datetime.now(UTC) + timedelta(hours=1)
    assert gh.rest.issues.list_for_repo(world.owner, world.repo, since=future).parsed_data == []


def test_labels_add_list_remove(world: World) -> None:
    gh = world.bot_gh
    gh.rest.issues.create(world.owner, world.repo, title="t")
    created = world.owner_gh.rest.issues.create_label(
        world.owner, world.repo, name="paid", color="5319e7", description="Run the agent"
    ).parsed_data
    assert (created.name, created.color) == ("paid", "5319e7")
    repo_labels = [
        label.name for label in gh.rest.issues.list_labels_for_repo(world.owner, world.repo).parsed_data
    ]
    assert {"bug", "enhancement", "paid"} <= set(repo_labels)

    added = gh.rest.issues.add_labels(world.owner, world.repo, 1, labels=["paid", "brand-new"]).parsed_data
    assert [label.name for label in added] == ["paid", "brand-new"]
    assert gh.rest.issues.get_label(world.owner, world.repo, "brand-new").parsed_data.color == "ededed"

    remaining = gh.rest.issues.remove_label(world.owner, world.repo, 1, "paid").parsed_data
    assert [label.name for label in remaining] == ["brand-new"]
    on_issue = gh.rest.issues.list_labels_on_issue(world.owner, world.repo, 1).parsed_data
    assert [label.name for label in on_issue] == ["brand-new"]
    with pytest.raises(RequestFailed) as failure:
        gh.rest.issues.remove_label(world.owner, world.repo, 1, "paid")
    assert failure.value.response.status_code == 404


def test_comments_create_list_get_update(world: World) -> None:
    world.owner_gh.rest.issues.create(world.owner, world.repo, title="t")
    gh = world.bot_gh
    comment = gh.rest.issues.create_comment(world.owner, world.repo, 1, body="Working on it").parsed_data
    assert comment.user
    assert comment.user.login == "paid-bot"
    assert comment.html_url.endswith(f"/octo-org/widgets/issues/1#issuecomment-{comment.id}")

    edited = gh.rest.issues.update_comment(world.owner, world.repo, comment.id, body="Done").parsed_data
    assert edited.body == "Done"
    assert gh.rest.issues.get_comment(world.owner, world.repo, comment.id).parsed_data.body == "Done"
    listed = gh.rest.issues.list_comments(world.owner, world.repo, 1).parsed_data
    assert [c.id for c in listed] == [comment.id]
    assert world.owner_gh.rest.issues.get(world.owner, world.repo, 1).parsed_data.comments == 1


def test_collaborator_permission_levels(world: World) -> None:
    gh = world.owner_gh
    levels = {
        login: gh.rest.repos.get_collaborator_permission_level(world.owner, world.repo, login).parsed_data
        for login in ("octo-org", "paid-bot", "reader")
    }
    assert levels["octo-org"].permission == "admin"
    assert levels["paid-bot"].permission == "write"
    assert levels["reader"].permission == "read"
    assert levels["paid-bot"].user
    assert levels["paid-bot"].user.login == "paid-bot"


def test_unknown_repository_is_githubs_404(world: World) -> None:
    with pytest.raises(RequestFailed) as failure:
        world.owner_gh.rest.repos.get(world.owner, "nope")
    assert failure.value.response.status_code == 404
    assert failure.value.response.json()["message"] == "Not Found"


def test_private_repository_hidden_from_outsiders(world: World) -> None:
    world.emu.create_repository(world.owner, "secret", {"a.txt": "a"}, private=True)
    world.emu.create_issue(world.owner, "secret", title="internal", as_user=world.owner)
    assert world.emu.file_content(world.owner, "secret", "a.txt") == "a"
    assert world.owner_gh.rest.repos.get(world.owner, "secret").parsed_data.private is True
    with pytest.raises(RequestFailed) as failure:
        world.client(world.reader_token).rest.repos.get(world.owner, "secret")
    assert failure.value.response.status_code == 404


def test_since_with_an_advanced_clock(world: World) -> None:
    gh = world.owner_gh
    first = gh.rest.issues.create(world.owner, world.repo, title="first").parsed_data
    world.emu.advance_clock(5)
    second = gh.rest.issues.create(world.owner, world.repo, title="second").parsed_data
    assert second.created_at - first.created_at >= timedelta(seconds=5)
    later = gh.rest.issues.list_for_repo(
        world.owner, world.repo, since=first.updated_at + timedelta(seconds=1)
    )
    assert [issue.number for issue in later.parsed_data] == [2]
