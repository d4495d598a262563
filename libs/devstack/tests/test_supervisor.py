from __future__ import annotations

import sys
from pathlib import Path

import pytest

from paid_devstack import ServiceSpec, ServiceSupervisor, StartupError, free_port


def http_service(name: str, port: int) -> ServiceSpec:
    return ServiceSpec(
        name,
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        env={"SERVICE_NAME": name},
        health_url=f"http://127.0.0.1:{port}/",
    )


def test_launch_kill_start_and_stop_all(tmp_path: Path) -> None:
    with ServiceSupervisor(tmp_path, base_env={"PAID_NATS_URL": "nats://example:4222"}) as supervisor:
        supervisor.launch(http_service("gateway", free_port()), http_service("poller", free_port()))
        assert supervisor.names == ["gateway", "poller"]
        environ = Path(f"/proc/{supervisor.process('gateway').pid}/environ").read_bytes().split(b"\0")
        assert b"PAID_NATS_URL=nats://example:4222" in environ
        assert b"SERVICE_NAME=gateway" in environ

        supervisor.kill("gateway")
        assert not supervisor.is_running("gateway")
        assert supervisor.is_running("poller")
        supervisor.start("gateway")
        assert supervisor.is_running("gateway")

        supervisor.restart("poller")
        assert supervisor.is_running("poller")
    assert not supervisor.is_running("gateway")
    assert not supervisor.is_running("poller")


def test_a_service_that_dies_at_startup_is_reported(tmp_path: Path) -> None:
    broken = ServiceSpec(
        "broken",
        [sys.executable, "-c", "raise SystemExit('missing PAID_GITHUB_TOKEN')"],
        health_url=f"http://127.0.0.1:{free_port()}/healthz",
    )
    with ServiceSupervisor(tmp_path) as supervisor:
        with pytest.raises(StartupError, match=r"(?s)broken exited with code 1.*missing PAID_GITHUB_TOKEN"):
            supervisor.launch(broken)
        assert not supervisor.is_running("broken")
        with pytest.raises(ValueError, match="already registered"):
            supervisor.launch(broken)
