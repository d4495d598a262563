"""Refs, pushes and the three merge methods: what git holds afterwards, and the webhooks they send."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx

from paid_github_emulator.git_history import GitHistory

from .conftest import World
from .test_git_and_pulls import git, push_branch


def api(world: World, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"token {token or world.owner_token}"}
    return httpx.Client(base_url=f"{world.emu.api_url}/repos/{world.owner}/{world.repo}", headers=headers)


def history(world: World) -> GitHistory:
    return GitHistory(world.emu.hub.git, world.owner, world.repo)


def put_file(world: World, branch: str, path: str, text: str, sha: str | None = None) -> httpx.Response:
    body = {"message": f"Write {path}", "content": base64.b64encode(text.encode()).decode(), "branch": branch}
    return api(world).put(f"/contents/{path}", json=body | ({"sha": sha} if sha else {}))


def open_pull(world: World, branch: str, files: dict[str, str]) -> int:
    main = world.emu.branch_sha(world.owner, world.repo, "main")
    assert api(world).post("/git/refs", json={"ref": f"refs/heads/{branch}", "sha": main}).status_code == 201
    for path, text in files.items():
        assert put_file(world, branch, path, text).status_code == 201
    created = api(world, world.bot_token).post(
        "/pulls", json={"title": branch, "head": branch, "base": "main"}
    )
    return int(created.json()["number"])


def test_git_push_sends_create_push_and_synchronize(world: World, tmp_path: Path) -> None:
    world.emu.create_hook(world.owner, world.repo, "http://127.0.0.1:9/unreachable", events=["*"])
    checkout = push_branch(world, tmp_path, "feature", world.bot_token)
    first = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    number = int(
        api(world).post("/pulls", json={"title": "f", "head": "feature", "base": "main"}).json()["number"]
    )
    (checkout / "more.txt").write_text("more\n")
    git("add", "-A", cwd=checkout)
    git("commit", "-m", "More", cwd=checkout)
    assert git("push", "origin", "feature", cwd=checkout).returncode == 0
    second = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()
    git("commit", "--amend", "-m", "More, amended", cwd=checkout)
    assert git("push", "--force", "origin", "feature", cwd=checkout).returncode == 0
    third = git("rev-parse", "HEAD", cwd=checkout).stdout.strip()

    world.emu.wait_for_deliveries(2, event="pull_request", action="synchronize")
    created = json.loads(world.emu.deliveries(event="create")[0].body)
    assert (created["ref"], created["ref_type"], created["master_branch"]) == ("feature", "branch", "main")
    pushes = [json.loads(d.body) for d in world.emu.deliveries(event="push")]
    assert [(p["before"], p["after"], p["created"], p["forced"]) for p in pushes] == [
        ("0" * 40, first, True, False),
        (first, second, False, False),
        (second, third, False, True),
    ]
    assert pushes[1]["ref"] == "refs/heads/feature"
    assert [c["message"] for c in pushes[1]["commits"]] == ["More"]
    assert pushes[1]["commits"][0]["added"] == ["more.txt"]
    assert pushes[1]["pusher"]["name"] == world.bot
    syncs = [json.loads(d.body) for d in world.emu.deliveries(event="pull_request", action="synchronize")]
    assert [(s["number"], s["before"], s["after"]) for s in syncs] == [
        (number, first, second),
        (number, second, third),
    ]
    assert syncs[-1]["pull_request"]["head"]["sha"] == third


def test_refs_update_only_fast_forward_unless_forced_and_delete(world: World) -> None:
    world.emu.create_hook(world.owner, world.repo, "http://127.0.0.1:9/unreachable", events=["*"])
    main = world.emu.branch_sha(world.owner, world.repo, "main")
    assert api(world).post("/git/refs", json={"ref": "refs/heads/x", "sha": main}).status_code == 201
    assert api(world).post("/git/refs", json={"ref": "refs/heads/x", "sha": main}).status_code == 422
    assert api(world).post("/git/refs", json={"ref": "refs/heads/y", "sha": "f" * 40}).status_code == 422
    assert (
        api(world, world.reader_token)
        .post("/git/refs", json={"ref": "refs/heads/z", "sha": main})
        .status_code
        == 403
    )
    ahead = put_file(world, "x", "a.txt", "a\n").json()["commit"]["sha"]
    assert api(world).patch("/git/refs/heads/main", json={"sha": ahead}).json()["object"]["sha"] == ahead
    assert api(world).patch("/git/refs/heads/x", json={"sha": main}).status_code == 422  # not a fast forward
    assert api(world).patch("/git/refs/heads/x", json={"sha": main, "force": True}).status_code == 200
    assert api(world).get("/git/ref/heads/x").json()["object"]["sha"] == main
    assert [r["ref"] for r in api(world).get("/git/matching-refs/heads/").json()] == [
        "refs/heads/main",
        "refs/heads/x",
    ]
    assert api(world).delete("/git/refs/heads/x").status_code == 204
    assert api(world).delete("/git/refs/heads/x").status_code == 422
    assert api(world).get("/git/ref/heads/x").status_code == 404
    world.emu.wait_for_deliveries(1, event="delete")
    assert json.loads(world.emu.deliveries(event="delete")[0].body)["ref"] == "x"
    forced = [json.loads(d.body)["forced"] for d in world.emu.deliveries(event="push")]
    assert forced == [False, False, False, True, False]


def test_contents_put_checks_the_blob_sha_and_the_encoding(world: World) -> None:
    assert put_file(world, "main", "README.md", "changed\n").status_code == 422  # exists: sha required
    assert put_file(world, "main", "README.md", "changed\n", sha="0" * 40).status_code == 409
    current = api(world).get("/contents/README.md").json()["sha"]
    updated = put_file(world, "main", "README.md", "changed\n", sha=current)
    assert updated.status_code == 200
    assert world.emu.file_content(world.owner, world.repo, "README.md") == "changed\n"
    bad = api(world).put("/contents/x.txt", json={"message": "m", "content": "not base64!"})
    assert bad.status_code == 422
    assert put_file(world, "nope", "x.txt", "x").status_code == 404


def test_rebase_replays_commits_and_a_conflict_is_not_mergeable(world: World) -> None:
    number = open_pull(world, "r", {"one.txt": "1\n", "two.txt": "2\n"})
    put_file(world, "main", "other.txt", "moved main\n")
    base = world.emu.branch_sha(world.owner, world.repo, "main")
    head = world.emu.branch_sha(world.owner, world.repo, "r")
    assert base is not None
    assert (
        api(world).put(f"/pulls/{number}/merge", json={"merge_method": "rebase", "sha": base}).status_code
        == 409
    )
    result = api(world).put(f"/pulls/{number}/merge", json={"merge_method": "rebase"}).json()
    replayed = history(world).commits_between(base, result["sha"])
    assert [c.message for c in replayed] == ["Write one.txt", "Write two.txt"]
    assert replayed[0].parents == (base,)
    assert result["sha"] != head
    assert world.emu.branch_sha(world.owner, world.repo, "main") == result["sha"]

    clash = open_pull(world, "clash", {"clash.txt": "from the branch\n"})
    assert api(world).get(f"/pulls/{clash}").json()["mergeable_state"] == "clean"
    put_file(world, "main", "clash.txt", "from main\n")
    pull = api(world).get(f"/pulls/{clash}").json()
    assert (pull["mergeable"], pull["mergeable_state"]) == (False, "dirty")
    assert api(world).put(f"/pulls/{clash}/merge", json={"merge_method": "squash"}).status_code == 405


def test_rate_limit_reports_without_counting(world: World) -> None:
    client = httpx.Client(base_url=world.emu.api_url, headers={"Authorization": f"token {world.owner_token}"})
    client.get(f"/repos/{world.owner}/{world.repo}")
    first = client.get("/rate_limit").json()
    second = client.get("/rate_limit").json()
    assert first["rate"] == first["resources"]["core"]
    assert first["rate"]["used"] == second["rate"]["used"] == 1
    assert first["rate"]["remaining"] == first["rate"]["limit"] - 1
