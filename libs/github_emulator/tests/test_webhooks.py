"""Webhook deliveries: signed like GitHub's, asynchronous, recorded, and redeliverable."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import uuid
from pathlib import Path

from githubkit.webhooks import parse, verify

from paid_github_emulator.testing import ReceivedWebhook, WebhookReceiver

from .conftest import World
from .test_git_and_pulls import push_branch

SECRET = "hook-secret"
FIXTURES = Path("/work/shared/fixtures/github-webhooks")


def subscribe(world: World, url: str, events: list[str]) -> int:
    hook = world.owner_gh.rest.repos.create_webhook(
        world.owner, world.repo, config={"url": url, "secret": SECRET, "content_type": "json"}, events=events
    ).parsed_data
    assert hook.config.url == url
    assert [h.id for h in world.owner_gh.rest.repos.list_webhooks(world.owner, world.repo).parsed_data] == [
        hook.id
    ]
    return hook.id


def assert_signed_like_github(received: ReceivedWebhook, hook_id: int, event: str) -> None:
    headers = {key.lower(): value for key, value in received.headers.items()}
    expected = hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    assert headers["x-hub-signature-256"] == f"sha256={expected}"
    assert verify(SECRET, received.body, headers["x-hub-signature-256"])
    assert (
        headers["x-hub-signature"]
        == "sha1=" + hmac.new(SECRET.encode(), received.body, hashlib.sha1).hexdigest()
    )
    assert headers["x-github-event"] == event
    assert uuid.UUID(headers["x-github-delivery"]).version == 4
    assert headers["x-github-hook-id"] == str(hook_id)
    assert headers["user-agent"].startswith("GitHub-Hookshot/")
    assert headers["content-type"] == "application/json"


def test_label_added_by_user_is_delivered_signed(world: World, receiver: WebhookReceiver) -> None:
    hook_id = subscribe(world, receiver.url, ["issues", "issue_comment"])
    ping = receiver.wait_for(1)[0]
    assert json.loads(ping.body)["hook_id"] == hook_id

    world.owner_gh.rest.issues.create(world.owner, world.repo, title="Make widgets blue")
    world.bot_gh.rest.issues.add_labels(world.owner, world.repo, 1, labels=["paid", "urgent"])
    received = receiver.wait_for(4)[1:]

    opened, *labeled = (json.loads(r.body) for r in received)
    assert (opened["action"], opened["sender"]["login"]) == ("opened", "octo-org")
    assert [(p["action"], p["label"]["name"], p["sender"]["login"]) for p in labeled] == [
        ("labeled", "paid", "paid-bot"),
        ("labeled", "urgent", "paid-bot"),
    ]
    for item in received:
        assert_signed_like_github(item, hook_id, "issues")
        event = parse("issues", item.body)  # githubkit's webhook models accept the payload
        assert event.repository is not None
        assert event.repository.full_name == "octo-org/widgets"
    assert set(labeled[0]) >= set(json.loads((FIXTURES / "issues" / "labeled.payload.json").read_text()))

    recorded = world.emu.wait_for_deliveries(2, event="issues", action="labeled")
    assert all(d.status_code == 200 and d.succeeded and d.duration_ms > 0 for d in recorded)
    assert recorded[0].response_body == "received"


def test_comment_and_pull_request_events(world: World, receiver: WebhookReceiver, tmp_path: Path) -> None:
    hook_id = subscribe(world, receiver.url, ["issue_comment", "pull_request"])
    world.owner_gh.rest.issues.create(world.owner, world.repo, title="t")
    world.bot_gh.rest.issues.create_comment(world.owner, world.repo, 1, body="On it")
    push_branch(world, tmp_path, "paid/issue-1", world.bot_token)
    world.bot_gh.rest.pulls.create(world.owner, world.repo, title="Fix", head="paid/issue-1", base="main")
    world.owner_gh.rest.pulls.merge(world.owner, world.repo, 2)

    _ping, comment, opened, closed = receiver.wait_for(4)
    for item, event in ((comment, "issue_comment"), (opened, "pull_request"), (closed, "pull_request")):
        assert_signed_like_github(item, hook_id, event)
        parse(event, item.body)
    assert json.loads(comment.body)["comment"]["body"] == "On it"
    assert (json.loads(opened.body)["action"], json.loads(opened.body)["number"]) == ("opened", 2)
    closed_payload = json.loads(closed.body)
    assert closed_payload["action"] == "closed"
    assert closed_payload["pull_request"]["merged"] is True


def test_redelivery_keeps_the_delivery_id(world: World, receiver: WebhookReceiver) -> None:
    subscribe(world, receiver.url, ["issues"])
    world.owner_gh.rest.issues.create(world.owner, world.repo, title="t")
    original = world.emu.wait_for_deliveries(1, event="issues")[0]

    assert world.emu.redeliver(original.id) == original.guid
    again = world.emu.wait_for_deliveries(2, event="issues")[1]
    assert again.redelivery
    assert again.guid == original.guid
    assert again.id != original.id
    first, second = receiver.wait_for(3)[1:]
    assert first.body == second.body
    assert first.headers["X-GitHub-Delivery"] == second.headers["X-GitHub-Delivery"] == original.guid


def test_unreachable_hook_is_a_failed_delivery(world: World) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    subscribe(world, f"http://127.0.0.1:{port}/nowhere", ["issues"])
    world.owner_gh.rest.issues.create(world.owner, world.repo, title="t")
    failed = world.emu.wait_for_deliveries(1, event="issues")[0]
    assert failed.status_code is None
    assert not failed.succeeded
    assert failed.error
    assert "Connect" in failed.error
    assert world.owner_gh.rest.issues.get(world.owner, world.repo, 1).parsed_data.title == "t"


def test_receiver_errors_are_recorded(world: World, receiver: WebhookReceiver) -> None:
    receiver.status = 500
    subscribe(world, receiver.url, ["issues"])
    world.owner_gh.rest.issues.create(world.owner, world.repo, title="t")
    assert world.emu.wait_for_deliveries(1, event="issues")[0].status_code == 500


def test_rest_calls_do_not_wait_for_slow_receivers(world: World, receiver: WebhookReceiver) -> None:
    subscribe(world, receiver.url, ["issues"])
    receiver.wait_for(1)
    receiver.hold = threading.Event()
    try:
        for n in range(3):  # the first delivery is stuck at the receiver; the REST calls still return
            world.owner_gh.rest.issues.create(world.owner, world.repo, title=f"t{n}")
        assert world.emu.deliveries(event="issues") == []
    finally:
        receiver.hold.set()
    assert len(world.emu.wait_for_deliveries(3, event="issues")) == 3
