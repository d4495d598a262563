"""Polling pull requests (webhooks off): a review, a failed check and a push to a PR's head become the
events the webhook path publishes for the same changes, with the same ids."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from faststream.nats import NatsBroker
from temporalio.testing import ActivityEnvironment

from paid_contracts import LabelMapping
from paid_github_events import Delivery, Ignored, delivery_event
from paid_poller.activities import PollerActivities

from .test_poll_repository import events_for, target_of

REVIEWER, REVIEWER_TOKEN = "rita", "ghp_rita"
SUBJECTS = (
    "paid.github.pull_request_reviewed",
    "paid.github.pull_request_head_moved",
    "paid.github.check_run_completed",
)


OWNER_TOKEN = "ghp_owner"  # the conftest's owner


def api(world: Any, token: str = OWNER_TOKEN) -> httpx.Client:
    return httpx.Client(
        base_url=f"{world.emulator.api_url}/repos/{world.full_name}",
        headers={"Authorization": f"token {token}"},
    )


def put_file(world: Any, branch: str, path: str) -> str:
    body = {"message": f"Add {path}", "content": base64.b64encode(b"x\n").decode(), "branch": branch}
    response = api(world).put(f"/contents/{path}", json=body)
    assert response.status_code == 201
    return str(response.json()["commit"]["sha"])


async def test_a_review_a_failed_check_and_a_push_match_the_webhook_path(
    activities: PollerActivities, world: Any, broker: NatsBroker
) -> None:
    emulator = world.emulator
    emulator.add_user(REVIEWER, REVIEWER_TOKEN)
    # Webhooks record what GitHub would send, though nobody receives them here.
    emulator.create_hook(world.owner, world.name, "http://127.0.0.1:9/nobody", events=["*"])
    main = emulator.branch_sha(world.owner, world.name, "main")
    assert api(world).post("/git/refs", json={"ref": "refs/heads/fix", "sha": main}).status_code == 201
    put_file(world, "fix", "fix.txt")
    number = api(world).post("/pulls", json={"title": "Fix", "head": "fix", "base": "main"}).json()["number"]
    env = ActivityEnvironment()
    await env.run(activities.poll_repository, target_of(world))  # sees the PR and its head: no event

    review = {"event": "REQUEST_CHANGES", "body": "Please add a test."}
    assert api(world, REVIEWER_TOKEN).post(f"/pulls/{number}/reviews", json=review).status_code == 200
    head = put_file(world, "fix", "test_fix.txt")
    check = {"name": "tests", "head_sha": head, "conclusion": "failure", "output": {"title": "1 failed"}}
    assert api(world).post("/check-runs", json=check).status_code == 201

    result = await env.run(activities.poll_repository, target_of(world))
    again = await env.run(activities.poll_repository, target_of(world))

    assert (result.published, result.not_modified) == (3, False)
    assert (again.published, again.not_modified) == (0, True)
    polled = {e["event_id"]: e for subject in SUBJECTS for e in await events_for(broker, subject, world.name)}
    emulator.wait_for_deliveries(1, event="check_run", action="completed")
    pushed: dict[str, dict[str, Any]] = {}
    for record in emulator.deliveries():
        delivery = Delivery(record.event, record.guid, json.loads(record.body))
        read = delivery_event(delivery, labels=LabelMapping(), producer="gateway")
        if not isinstance(read, Ignored) and read.SUBJECT in SUBJECTS:
            pushed[read.event_id] = read.model_dump(mode="json")
    assert sorted(polled) == sorted(pushed)
    assert len(polled) == 3
    for event_id, event in polled.items():
        assert what_happened(event) == what_happened(pushed[event_id])


def what_happened(event: dict[str, Any]) -> dict[str, Any]:
    """The event without how Paid heard of it; the poller's repository carries no clone URL (as for its
    other events: the webhook's payload has it, the poller's project settings do not)."""
    how_heard = {"producer", "source", "source_id", "occurred_at", "trace"}
    found = {key: value for key, value in event.items() if key not in how_heard}
    found["repo"] = found["repo"] | {"clone_url": None}
    return found
