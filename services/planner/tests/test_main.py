"""`paid-planner` as deployed, on real servers: a plan request on JetStream becomes one GitHub comment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paid_contracts import PlanRequested, TriggerSource
from paid_devstack.nats import NatsServer
from paid_devstack.ports import free_port
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.temporal import TemporalDevServer
from paid_planner.activities import ack_marker
from paid_planner.workflows import plan_workflow_id
from paid_runtime.messaging import ensure_streams, make_broker, publish_event


def wait_until(check: Any, what: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert process.poll() is None, "paid-planner exited early"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def answers_200(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[NatsServer, TemporalDevServer]]:
    with (
        NatsServer(tmp_path / "nats", sync_always=False) as nats,
        TemporalDevServer(tmp_path / "temporal", headless=True) as temporal,
    ):
        yield nats, temporal


@pytest.mark.integration
async def test_a_plan_request_is_acknowledged_on_the_issue(
    tmp_path: Path, servers: tuple[NatsServer, TemporalDevServer], postgres: EmbeddedPostgres, world: Any
) -> None:
    nats, temporal = servers
    port = free_port()
    env = {
        **os.environ,
        "PAID_PLANNER_HTTP_PORT": str(port),
        "PAID_PLANNER_NATS_URL": nats.url,
        "PAID_PLANNER_TEMPORAL_TARGET": temporal.target,
        "PAID_PLANNER_DATABASE_URL": postgres.url,
        "PAID_PLANNER_GITHUB_API_URL": world.emulator.api_url,
        "PAID_PLANNER_GITHUB_TOKEN": world.bot_token,
        "PAID_PLANNER_TASK_QUEUE": f"planner-{uuid.uuid4()}",
    }
    with (tmp_path / "planner.log").open("wb") as log:
        process = subprocess.Popen(
            [Path(sys.executable).parent / "paid-planner"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until(lambda: answers_200(f"http://127.0.0.1:{port}/readyz"), "/readyz", process)
            broker = make_broker(nats.url, "planner-test")
            await broker.connect()
            await ensure_streams(broker)
            event = PlanRequested(
                producer="gateway",
                issue=world.issue,
                label="paid-plan",
                actor="octo-org",
                source=TriggerSource.WEBHOOK,
                source_id="delivery-1",
            )
            await publish_event(broker, event)
            await publish_event(broker, event.model_copy(update={"event_id": "another-delivery"}))
            await broker.stop()
            marker = ack_marker(plan_workflow_id(world.issue))

            def acknowledged() -> bool:
                owner, name, number = world.issue.repo.owner, world.issue.repo.name, world.issue.number
                return any(marker in c["body"] for c in world.emulator.comments(owner, name, number))

            wait_until(acknowledged, "the acknowledgement comment", process)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    comments = world.emulator.comments(world.issue.repo.owner, world.issue.repo.name, world.issue.number)
    assert len(comments) == 1
