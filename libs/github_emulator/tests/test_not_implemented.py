"""A route the emulator lacks answers 501, never GitHub's 404, so no client mistakes a gap for "missing"."""

from __future__ import annotations

import httpx
import pytest
import requests
from github import Auth, Github, GithubException, UnknownObjectException
from githubkit.exception import RequestFailed

from .conftest import World


def test_githubkit_sees_501_with_the_method_and_path(world: World) -> None:
    with pytest.raises(RequestFailed) as failure:
        world.owner_gh.rest.repos.list_releases(world.owner, world.repo)
    response = failure.value.response
    assert response.status_code == 501
    assert response.json()["message"] == (
        f"The GitHub emulator does not implement GET /api/v3/repos/{world.owner}/{world.repo}/releases"
    )


def test_a_known_path_with_an_unknown_method_is_not_implemented(world: World) -> None:
    world.emu.create_issue(world.owner, world.repo, title="t", as_user=world.owner)
    response = httpx.delete(
        f"{world.emu.api_url}/repos/{world.owner}/{world.repo}/issues/1",
        headers={"Authorization": f"token {world.owner_token}"},
    )
    assert response.status_code == 501
    assert "does not implement DELETE" in response.json()["message"]


def test_a_missing_resource_on_an_implemented_route_stays_githubs_404(world: World) -> None:
    with pytest.raises(RequestFailed) as failure:
        world.owner_gh.rest.issues.get(world.owner, world.repo, 99)
    assert failure.value.response.status_code == 404
    assert failure.value.response.json()["message"] == "Not Found"


def test_pygithub_raises_a_501_not_its_unknown_object(world: World) -> None:
    gh = Github(base_url=world.emu.api_url, auth=Auth.Token(world.owner_token), retry=None)
    repo = gh.get_repo(f"{world.owner}/{world.repo}")
    with pytest.raises(GithubException) as failure:
        list(repo.get_releases())
    assert not isinstance(failure.value, UnknownObjectException)
    assert failure.value.status == 501
    with pytest.raises(UnknownObjectException):
        repo.get_issue(99)


def test_pygithubs_default_retry_gives_up_naming_501(world: World) -> None:
    # PyGithub retries every 5xx by default (without waiting), then requests names the status.
    gh = Github(base_url=world.emu.api_url, auth=Auth.Token(world.owner_token))
    repo = gh.get_repo(f"{world.owner}/{world.repo}")
    with pytest.raises(requests.exceptions.RetryError, match="too many 501 error responses"):
        list(repo.get_releases())


def test_unknown_admin_and_root_paths_are_not_implemented(world: World) -> None:
    for path in ("/_emulator/nothing-here", "/api/v4/whatever"):
        response = httpx.get(f"{world.emu.base_url}{path}")
        assert response.status_code == 501, path
        assert response.json()["message"] == f"The GitHub emulator does not implement GET {path}"
