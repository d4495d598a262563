"""The demo path against deploy/compose.yml on a real engine: a labeled issue on the GitHub emulator
(in its own container) becomes a pull request made by the executor's container."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paid_devstack.compose import ComposeStack

from .probes import DATABASE_PROBE, NATS_PROBE, PLANNER_DURABLE, assert_every_attempt_refused

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yml"
# The pipeline and the emulator (with PostgreSQL, NATS and Temporal, which they depend on); the trace
# explorer is left out so that the short form (CI) builds one heavy image fewer.
PIPELINE = ("gateway", "poller", "planner", "executor", "evolution", "github-emulator")

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    home = Path(tempfile.mkdtemp(prefix="paid-docker-"))
    with ComposeStack(COMPOSE_FILE, home, services=PIPELINE) as stack:
        yield stack


def test_labeled_issue_becomes_a_pull_request(stack: ComposeStack) -> None:
    stack.seed_repository("acme", "calculator")
    number = stack.open_labeled_issue("acme", "calculator")

    [pull] = stack.wait_for_pulls("acme", "calculator", 1, timeout=300)

    assert f"#{number}" in pull["body"]
    assert pull["head"]["ref"] != pull["base"]["ref"]
    fixed = stack.admin.get("/repos/acme/calculator/contents/calc.py", params={"ref": pull["head"]["ref"]})
    assert "return a + b" in fixed.json()["content"]


def test_jetstream_fsyncs_every_write(stack: ComposeStack) -> None:
    jsz = httpx.get(f"http://127.0.0.1:{stack.ports['nats']}/jsz?config=1", timeout=10).json()
    assert jsz["config"]["sync_always"] is True
    assert jsz["config"]["store_dir"].startswith("/data")


def test_the_executors_nats_user_cannot_pose_as_the_gateway(stack: ComposeStack) -> None:
    """Issue 18 on compose: with the executor container's own credentials, a build request on
    `paid.github.>`, reading the planner's durable consumer and deleting a stream are refused, and a
    connection without credentials is not let in."""
    before = stream_messages(stack, "PAID_GITHUB")
    outcome = json.loads(stack.compose("exec", "-T", "executor", "python", "-c", NATS_PROBE).strip())

    assert_every_attempt_refused(outcome)
    assert planner_consumer_exists(stack), "the probe must aim at a consumer that is there"
    assert stream_messages(stack, "PAID_GITHUB") == before


def test_the_planners_role_cannot_read_the_gateways_tables(stack: ComposeStack) -> None:
    outcome = json.loads(stack.compose("exec", "-T", "planner", "python", "-c", DATABASE_PROBE).strip())

    assert outcome == {
        "gateway.api_tokens": "InsufficientPrivilegeError: permission denied for schema gateway",
        "gateway.projects": "InsufficientPrivilegeError: permission denied for schema gateway",
    }


def stream_messages(stack: ComposeStack, stream: str) -> int:
    jsz = httpx.get(f"http://127.0.0.1:{stack.ports['nats']}/jsz?streams=1", timeout=10).json()
    [found] = [
        s for account in jsz["account_details"] for s in account["stream_detail"] if s["name"] == stream
    ]
    return int(found["state"]["messages"])


def planner_consumer_exists(stack: ComposeStack) -> bool:
    jsz = httpx.get(f"http://127.0.0.1:{stack.ports['nats']}/jsz?consumers=1", timeout=10).json()
    return any(
        consumer["name"] == PLANNER_DURABLE
        for account in jsz["account_details"]
        for stream in account["stream_detail"]
        for consumer in stream.get("consumer_detail") or []
    )
