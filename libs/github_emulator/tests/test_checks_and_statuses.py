"""Check runs with output and annotations, check suites, commit statuses and the combined status."""

from __future__ import annotations

import json

import pytest
from github import GithubException

from paid_github_emulator.testing import WebhookReceiver

from .conftest import World
from .test_pull_request_work import pygithub_repo


def test_a_failing_then_passing_check_run_on_a_pull_request(world: World, receiver: WebhookReceiver) -> None:
    world.emu.create_hook(world.owner, world.repo, receiver.url, events=["*"])
    repo = pygithub_repo(world, world.bot_token)
    sha = repo.get_branch("main").commit.sha
    repo.create_git_ref("refs/heads/ci", sha)
    head = repo.create_file("t.py", "Add test", "assert False\n", branch="ci")["commit"].sha
    pull = repo.create_pull(base="main", head="ci", title="CI")

    run = repo.create_check_run(
        "tests", head, status="in_progress", output={"title": "Running", "summary": "…"}
    )
    assert (run.status, run.app.slug) == ("in_progress", f"{world.bot}-checks")
    assert run.conclusion is None
    assert [p.number for p in run.pull_requests] == [pull.number]
    annotation = {
        "path": "t.py",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "failure",
        "message": "AssertionError",
    }
    run.edit(
        conclusion="failure", output={"title": "1 failed", "summary": "1 failed", "annotations": [annotation]}
    )
    assert (run.status, run.conclusion, run.output.title, run.output.annotations_count) == (
        "completed",
        "failure",
        "1 failed",
        1,
    )
    assert [(a.path, a.start_line, a.message) for a in run.get_annotations()] == [
        ("t.py", 1, "AssertionError")
    ]
    runs = repo.get_commit(head).get_check_runs()
    assert [(r.name, r.conclusion) for r in runs] == [("tests", "failure")]
    assert [s.conclusion for s in repo.get_commit(head).get_check_suites()] == ["failure"]

    world.emu.wait_for_deliveries(1, event="check_suite", action="completed")
    sent = [(d.event, d.action) for d in world.emu.deliveries() if d.event.startswith("check_")]
    assert sent == [("check_run", "created"), ("check_run", "completed"), ("check_suite", "completed")]
    suite = json.loads(world.emu.deliveries(event="check_suite")[0].body)["check_suite"]
    assert (suite["conclusion"], suite["head_sha"], suite["head_branch"]) == ("failure", head, "ci")

    with pytest.raises(GithubException) as no_conclusion:
        repo.create_check_run("tests", head, status="completed")
    assert no_conclusion.value.status == 422
    reader = pygithub_repo(world, world.reader_token)
    with pytest.raises(GithubException) as read_only:
        reader.create_check_run("tests", head, status="queued")
    assert read_only.value.status == 403


def test_statuses_and_the_combined_status(world: World, receiver: WebhookReceiver) -> None:
    world.emu.create_hook(world.owner, world.repo, receiver.url, events=["status"])
    repo = pygithub_repo(world, world.bot_token)
    commit = repo.get_commit(repo.get_branch("main").commit.sha)
    assert commit.get_combined_status().state == "pending"  # no status yet
    commit.create_status("pending", context="ci/tests", description="running")
    commit.create_status("success", target_url="https://ci.example/1", context="ci/lint")
    assert commit.get_combined_status().state == "pending"
    commit.create_status("failure", context="ci/tests", description="1 failed")
    combined = commit.get_combined_status()
    assert (combined.state, combined.total_count) == ("failure", 2)
    assert {(s.context, s.state) for s in combined.statuses} == {
        ("ci/tests", "failure"),
        ("ci/lint", "success"),
    }
    assert [s.state for s in commit.get_statuses()] == ["failure", "success", "pending"]
    with pytest.raises(GithubException) as bad:
        commit.create_status("green")
    assert bad.value.status == 422

    world.emu.wait_for_deliveries(3, event="status")
    payloads = [json.loads(d.body) for d in world.emu.deliveries(event="status")]
    assert [(p["context"], p["state"]) for p in payloads] == [
        ("ci/tests", "pending"),
        ("ci/lint", "success"),
        ("ci/tests", "failure"),
    ]
    assert payloads[0]["branches"][0]["name"] == "main"
