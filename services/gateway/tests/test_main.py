"""`paid-gateway` as deployed: a process that migrates, connects, serves webhooks and stops on SIGTERM."""

from __future__ import annotations

import json
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
from typer.testing import CliRunner

from paid_cli.main import app
from paid_devstack.nats import NatsServer
from paid_devstack.ports import free_port
from paid_devstack.postgres import EmbeddedPostgres
from paid_gateway.config import GatewaySettings
from paid_gateway.signatures import sign

SECRET = "main-test-secret"


CLI_ADMIN_TOKEN = "admin-token-of-the-cli-under-test"


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "paid-gateway exited early"
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} never answered 200")


@pytest.fixture
def gateway(
    tmp_path: Path, postgres: EmbeddedPostgres, nats_server: NatsServer, settings: GatewaySettings
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {
        **os.environ,
        "PAID_GATEWAY_HTTP_PORT": str(port),
        "PAID_GATEWAY_NATS_URL": nats_server.url,
        "PAID_GATEWAY_DATABASE_URL": postgres.url,
        "PAID_GATEWAY_WEBHOOK_SECRETS": json.dumps(["old-secret", SECRET]),
        "PAID_GATEWAY_GITHUB_API_URL": settings.github_api_url,
        "PAID_GATEWAY_GITHUB_TOKEN": settings.github_token,
        "PAID_GATEWAY_ADMIN_TOKEN": CLI_ADMIN_TOKEN,
    }
    executable = Path(sys.executable).parent / "paid-gateway"
    log = (tmp_path / "gateway.log").open("wb")
    process = subprocess.Popen([executable], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def test_serves_webhooks_and_health_then_stops_on_sigterm(
    gateway: tuple[str, subprocess.Popen[bytes]], github_fixture: Any
) -> None:
    base, process = gateway
    wait_ready(f"{base}/readyz", process)
    ready = httpx.get(f"{base}/readyz").json()
    assert ready["checks"] == {"nats": True, "database": True}
    assert httpx.get(f"{base}/healthz").status_code == 200
    payload = github_fixture("issues", "labeled")
    payload["label"]["name"] = "paid-plan"
    payload["issue"]["number"] = 9002  # a labeling no other test publishes
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(SECRET, body),
        "Content-Type": "application/json",
    }

    response = httpx.post(f"{base}/webhooks/github", content=body, headers=headers)

    assert response.status_code == 202, response.text
    assert response.json()["accepted"] is True
    assert "paid_gateway_webhook_deliveries_total" in httpx.get(f"{base}/metrics").text
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0


def test_the_cli_registers_and_lists_projects_without_showing_secrets(
    gateway: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    base, process = gateway
    wait_ready(f"{base}/readyz", process)
    runner = CliRunner()
    env = {
        "PAID_GATEWAY_URL": base,
        "PAID_TOKEN": CLI_ADMIN_TOKEN,
        "PAID_PROJECT_TOKEN": "ghp_cli_secret_token",
    }
    name = f"acme/cli-{uuid.uuid4().hex[:6]}"

    added = runner.invoke(
        app,
        ["project", "add", name, "--label", "build=robot", "--allow", "alice", "--poll-interval", "15"],
        env=env,
    )
    listed = runner.invoke(
        app,
        ["project", "list"],
        env={"PAID_GATEWAY_URL": base, "PAID_TOKEN": CLI_ADMIN_TOKEN, "COLUMNS": "200"},
    )
    again = runner.invoke(app, ["project", "add", name], env=env)
    bad = runner.invoke(app, ["project", "add", name, "--label", "nonsense"], env=env)

    assert added.exit_code == 0, added.output
    assert f"registered {name}" in added.output
    assert listed.exit_code == 0, listed.output
    assert name in listed.output
    assert "alice" in listed.output
    assert "ghp_cli_secret_token" not in listed.output + added.output
    assert again.exit_code == 1
    assert "already registered" in again.output
    assert bad.exit_code == 2
    assert "registered" in (tmp_path / "gateway.log").read_text()
    assert "ghp_cli_secret_token" not in (tmp_path / "gateway.log").read_text()
