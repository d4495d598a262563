"""The demo path against deploy/compose.yml on a real engine: a labeled issue on the GitHub emulator
(in its own container) becomes a pull request made by the executor's container."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paid_devstack.compose import ComposeStack

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
