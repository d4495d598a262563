"""A GitHub App authenticating with its RS256 JWT, minting installation tokens, and their scope on REST."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from githubkit.exception import RequestFailed

from paid_github_emulator.app_ops import new_key_pair

from .app_world import AppWorld, app_world

__all__ = ["app_world"]


def api(world: AppWorld, method: str, path: str, token: str, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    return httpx.request(method, f"{world.emu.api_url}{path}", headers=headers, **kwargs)  # type: ignore[arg-type]


def test_the_app_sees_itself_and_its_installations_through_githubkit(app_world: AppWorld) -> None:
    gh = app_world.app_gh
    app = gh.rest.apps.get_authenticated().parsed_data
    assert app is not None
    assert (app.id, app.slug) == (app_world.app.id, "paid")
    assert app.owner is not None
    assert app.owner.html_url.endswith("/octo-org")
    installations = gh.rest.apps.list_installations().parsed_data
    assert [(i.id, i.repository_selection, i.app_id) for i in installations] == [
        (app_world.installation.id, "selected", app_world.app.id)
    ]
    found = gh.rest.apps.get_repo_installation("octo-org", "alpha").parsed_data
    assert found.id == app_world.installation.id
    with pytest.raises(RequestFailed) as missing:
        gh.rest.apps.get_repo_installation("other-org", "gamma")
    assert missing.value.response.status_code == 404


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("forged", "could not be decoded"),
        ("expired", "'exp'"),
        ("issued in the future", "'iat'"),
        ("lives over ten minutes", "too far in the future"),
        ("unknown issuer", "'iss'"),
        ("not a jwt", "could not be decoded"),
    ],
)
def test_bad_app_jwts_are_refused(app_world: AppWorld, case: str, expected: str) -> None:
    now = int(time.time())
    other_key, _ = new_key_pair()
    token = {
        "forged": app_world.jwt(key=other_key),
        "expired": app_world.jwt(issued=now - 700, lifetime=600),
        "issued in the future": app_world.jwt(issued=now + 120),
        "lives over ten minutes": app_world.jwt(lifetime=1200),
        "unknown issuer": _with_issuer(app_world, "999999"),
        "not a jwt": "not.a.jwt",
    }[case]
    response = api(app_world, "GET", "/app", token)
    assert response.status_code == 401, response.text
    assert expected in response.json()["message"]
    minted = api(app_world, "POST", f"/app/installations/{app_world.installation.id}/access_tokens", token)
    assert minted.status_code == 401


def _with_issuer(world: AppWorld, issuer: str) -> str:
    now = int(time.time())
    return jwt.encode({"iat": now - 30, "exp": now + 500, "iss": issuer}, world.pem, algorithm="RS256")


def test_the_skew_allowance_accepts_a_jwt_issued_slightly_ahead(app_world: AppWorld) -> None:
    token = app_world.jwt(issued=int(time.time()) + 30)
    assert api(app_world, "GET", "/app", token).status_code == 200


def test_a_token_narrowed_to_one_repository_is_refused_on_another(app_world: AppWorld) -> None:
    token = app_world.mint(["alpha"], {"issues": "write", "contents": "read"})
    gh = app_world.token_gh(token)
    created = gh.rest.issues.create("octo-org", "alpha", title="From the App").parsed_data
    assert created.user
    assert created.user.login == "paid[bot]"
    assert created.user.type == "Bot"
    for repo in ("beta", "gamma"):
        with pytest.raises(RequestFailed) as refused:
            gh.rest.issues.create("octo-org" if repo == "beta" else "other-org", repo, title="nope")
        assert refused.value.response.status_code == 404
    listed = api(app_world, "GET", "/installation/repositories", token).json()
    assert [r["full_name"] for r in listed["repositories"]] == ["octo-org/alpha"]
    assert listed["total_count"] == 1


def test_a_token_is_refused_what_its_permissions_do_not_grant(app_world: AppWorld) -> None:
    token = app_world.mint(["alpha"], {"issues": "read"})
    gh = app_world.token_gh(token)
    assert gh.rest.issues.list_for_repo("octo-org", "alpha").status_code == 200
    with pytest.raises(RequestFailed) as refused:
        gh.rest.issues.create("octo-org", "alpha", title="read-only")
    assert refused.value.response.status_code == 403
    assert refused.value.response.json()["message"] == "Resource not accessible by integration"
    with pytest.raises(RequestFailed) as no_pulls:
        gh.rest.pulls.list("octo-org", "alpha")
    assert no_pulls.value.response.status_code == 403


def test_an_installation_token_is_no_user_so_get_user_is_refused_as_github_does(app_world: AppWorld) -> None:
    """GitHub answers `GET /user` only for a user's token (403 for an installation token), so the App's
    own login (`<slug>[bot]`) is read from `GET /app` with its JWT."""
    token = app_world.mint(["alpha"], {"issues": "write", "contents": "write", "pull_requests": "write"})
    refused = api(app_world, "GET", "/user", token)
    assert refused.status_code == 403
    assert refused.json()["message"] == "Resource not accessible by integration"
    with pytest.raises(RequestFailed) as through_githubkit:
        app_world.token_gh(token).rest.users.get_authenticated()
    assert through_githubkit.value.response.status_code == 403
    app = api(app_world, "GET", "/app", app_world.jwt()).json()
    assert f"{app['slug']}[bot]" == "paid[bot]"
    assert api(app_world, "GET", "/users/paid[bot]", token).json()["type"] == "Bot"


def test_a_token_cannot_ask_for_more_than_the_installation_has(app_world: AppWorld) -> None:
    jwt_token = app_world.jwt()
    url = f"/app/installations/{app_world.installation.id}/access_tokens"
    too_much = api(app_world, "POST", url, jwt_token, json={"permissions": {"administration": "write"}})
    assert too_much.status_code == 422
    foreign = api(app_world, "POST", url, jwt_token, json={"repositories": ["gamma"]})
    assert foreign.status_code == 422
    body = api(app_world, "POST", url, jwt_token, json={"repositories": ["beta"]}).json()
    assert body["repository_selection"] == "selected"
    assert [r["full_name"] for r in body["repositories"]] == ["octo-org/beta"]
    assert body["token"].startswith("ghs_")
    assert body["expires_at"].endswith("Z")


def test_tokens_expire_after_an_hour_of_the_emulators_clock(app_world: AppWorld) -> None:
    token = app_world.mint(["alpha"])
    assert api(app_world, "GET", "/repos/octo-org/alpha", token).status_code == 200
    app_world.emu.advance_clock(3599)
    assert api(app_world, "GET", "/repos/octo-org/alpha", token).status_code == 200
    app_world.emu.advance_clock(2)
    expired = api(app_world, "GET", "/repos/octo-org/alpha", token)
    assert (expired.status_code, expired.json()["message"]) == (401, "Bad credentials")


def test_a_revoked_token_stops_working(app_world: AppWorld) -> None:
    token = app_world.mint(["alpha"])
    assert api(app_world, "DELETE", "/installation/token", token).status_code == 204
    assert api(app_world, "GET", "/repos/octo-org/alpha", token).status_code == 401
    assert api(app_world, "DELETE", "/installation/token", token).status_code == 401


def test_suspension_and_uninstalling_stop_tokens(app_world: AppWorld) -> None:
    token = app_world.mint()
    app_world.emu.suspend_installation(app_world.installation.id, as_user="octo-org")
    assert api(app_world, "GET", "/repos/octo-org/alpha", token).status_code == 401
    url = f"/app/installations/{app_world.installation.id}/access_tokens"
    assert api(app_world, "POST", url, app_world.jwt()).status_code == 403
    app_world.emu.unsuspend_installation(app_world.installation.id, as_user="octo-org")
    assert api(app_world, "GET", "/repos/octo-org/alpha", token).status_code == 200
    app_world.emu.uninstall_app(app_world.installation.id, as_user="octo-org")
    assert api(app_world, "GET", "/repos/octo-org/alpha", token).status_code == 401
    assert api(app_world, "POST", url, app_world.jwt()).status_code == 404
