"""Rate-limit headers and counters per token; conditional GETs answered 304 are free, as on GitHub."""

from __future__ import annotations

import httpx

from .conftest import World


def test_counts_per_token_and_304_is_free(world: World) -> None:
    url = f"{world.emu.api_url}/repos/{world.owner}/{world.repo}"
    auth = {"Authorization": f"Bearer {world.owner_token}"}
    first = httpx.get(url, headers=auth)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit"] == "5000"
    assert (first.headers["x-ratelimit-used"], first.headers["x-ratelimit-remaining"]) == ("1", "4999")
    assert first.headers["x-ratelimit-resource"] == "core"
    assert int(first.headers["x-ratelimit-reset"]) > 0
    etag = first.headers["etag"]

    for _ in range(3):
        cached = httpx.get(url, headers=auth | {"If-None-Match": etag})
        assert cached.status_code == 304
        assert cached.content == b""
        assert cached.headers["etag"] == etag
        assert cached.headers["x-ratelimit-used"] == "1"
    assert world.emu.rate_limit_usage(world.owner_token).used == 1

    changed = httpx.post(f"{url}/issues", headers=auth, json={"title": "t"})
    assert changed.headers["x-ratelimit-used"] == "2"
    stale = httpx.get(url, headers=auth | {"If-None-Match": etag})  # open_issues_count changed
    assert stale.status_code == 200
    assert stale.headers["x-ratelimit-used"] == "3"
    assert world.emu.rate_limit_usage(world.bot_token).used == 0


def test_githubkit_revalidates_with_etags(world: World) -> None:
    gh = world.bot_gh
    for _ in range(3):
        assert gh.rest.repos.get(world.owner, world.repo).parsed_data.name == "widgets"
    assert world.emu.rate_limit_usage(world.bot_token).used == 1


def test_enforced_limit_answers_403_with_retry_after(world: World) -> None:
    world.emu.rate_limiter.enforce = True
    world.emu.rate_limiter.limit = 2
    url = f"{world.emu.api_url}/user"
    auth = {"Authorization": f"token {world.bot_token}"}
    assert [httpx.get(url, headers=auth).status_code for _ in range(2)] == [200, 200]
    refused = httpx.get(url, headers=auth)
    assert refused.status_code == 403
    assert refused.json()["message"].startswith("API rate limit exceeded")
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["retry-after"]) > 0
