"""Only labelers with write permission (or on the project's allowlist) start work; anyone else gets one
explanatory comment, however often GitHub delivers the labeling."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from faststream.nats import NatsBroker

from paid_devstack.processes import wait_until
from paid_gateway.signatures import sign
from paid_github_emulator import GitHubEmulator
from paid_runtime.github_trust import MARKER_PREFIX

OWNER, REPO, OUTSIDER = "Codertocat", "Hello-World", "outsider"


def delivery(
    github_fixture: Any, number: int, sender: str, secret: str, label: str = "paid-build"
) -> tuple[bytes, dict[str, str]]:
    payload = github_fixture("issues", "labeled")
    payload["label"]["name"] = label
    payload["issue"]["number"] = number
    payload["sender"]["login"] = sender
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(secret, body),
    }
    return body, headers


async def stream_count(broker: NatsBroker) -> int:
    info = await broker.connection.jetstream().stream_info("PAID_GITHUB")
    return int(info.state.messages)


def refusals(github: GitHubEmulator, number: int) -> list[dict[str, Any]]:
    return [c for c in github.comments(OWNER, REPO, number) if MARKER_PREFIX in str(c["body"])]


# `paid-agent:<agent>` asks for a build with that agent (docs/agents.md), `paid-auto` for a plan built
# task after task with no human step (docs/planning.md): the same labelers may use them.
LABELS = pytest.mark.parametrize("label", ["paid-build", "paid-agent:codex", "paid-auto"])


@LABELS
async def test_an_untrusted_labeler_starts_nothing_and_gets_one_comment(
    client: httpx.AsyncClient, broker: NatsBroker, github: GitHubEmulator, github_fixture: Any, label: str
) -> None:
    number = int(github.create_issue(OWNER, REPO, title="Please build", as_user=OWNER)["number"])
    before = await stream_count(broker)

    for _ in range(3):  # GitHub redelivering, or several hooks: still one comment
        body, headers = delivery(github_fixture, number, OUTSIDER, "test-webhook-secret", label)
        response = await client.post("/webhooks/github", content=body, headers=headers)
        assert response.status_code == 202
        assert response.json()["accepted"] is False
        assert "outsider has read permission" in response.json()["reason"]
        wait_until(lambda: len(refusals(github, number)) == 1, timeout=10, what="the refusal comment")

    assert await stream_count(broker) == before
    comment = refusals(github, number)[0]
    assert "@outsider" in comment["body"]
    assert "write access" in comment["body"]
    assert len(refusals(github, number)) == 1


@LABELS
async def test_a_collaborator_with_write_permission_is_trusted(
    client: httpx.AsyncClient, broker: NatsBroker, github: GitHubEmulator, github_fixture: Any, label: str
) -> None:
    github.add_user(login := f"writer-{uuid.uuid4().hex[:6]}")
    github.set_permission(OWNER, REPO, login, "write")
    number = int(github.create_issue(OWNER, REPO, title="Please build", as_user=OWNER)["number"])
    before = await stream_count(broker)

    body, headers = delivery(github_fixture, number, login, "test-webhook-secret", label)
    response = await client.post("/webhooks/github", content=body, headers=headers)

    assert response.json()["accepted"] is True
    assert await stream_count(broker) == before + 1
    assert refusals(github, number) == []
