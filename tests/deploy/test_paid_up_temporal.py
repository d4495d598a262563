"""`paid up --temporal ... --temporal-tls-*` (or PAID_TEMPORAL_API_KEY): every service's environment carries
the external Temporal's access settings, under its own prefix, and each service's settings read them into
mTLS (or an API key) at start-up. The platform is built but not started."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.service import TLSConfig
from typer.testing import CliRunner

import paid_devstack.platform
from paid_cli.main import app
from paid_devstack.certificates import TestAuthority
from paid_devstack.platform import SERVICES, PaidPlatform, PlatformConfig
from paid_evolution.config import EvolutionSettings
from paid_executor.config import ExecutorSettings
from paid_gateway.config import GatewaySettings
from paid_planner.config import PlannerSettings
from paid_poller.config import PollerSettings
from paid_runtime.settings import ServiceSettings
from paid_runtime.temporal_access import temporal_access

SETTINGS: dict[str, type[ServiceSettings]] = {
    "gateway": GatewaySettings,
    "poller": PollerSettings,
    "planner": PlannerSettings,
    "executor": ExecutorSettings,
    "evolution": EvolutionSettings,
}
SECRET_KEY = "temporal-cloud-key-0123456789"


class Captured(Exception):
    pass


def configured_by(argv: list[str], monkeypatch: pytest.MonkeyPatch, **env: str) -> PlatformConfig:
    """The PlatformConfig `paid up` builds from `argv` (stopped before anything starts)."""
    seen: list[PlatformConfig] = []

    def capture(config: PlatformConfig) -> Any:
        seen.append(config)
        raise Captured

    monkeypatch.setattr(paid_devstack.platform, "PaidPlatform", capture)
    result = CliRunner().invoke(app, ["up", *argv], env=env)
    assert isinstance(result.exception, Captured), result.output
    return seen[0]


def environment(config: PlatformConfig, service: str) -> dict[str, str]:
    return PaidPlatform(config)._spec(service).env


def test_mtls_options_reach_every_service_and_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = TestAuthority(tmp_path, "paid")
    client = authority.issue("paid", server=False)
    config = configured_by(
        [
            *("--home", str(tmp_path / "home"), "--temporal", "temporal.example:7233"),
            *("--temporal-namespace", "paid-prod", "--temporal-tls-server-name", "temporal.example"),
            *("--temporal-tls-cert", str(client.cert_path), "--temporal-tls-key", str(client.key_path)),
            *("--temporal-tls-ca", str(authority.ca_path)),
        ],
        monkeypatch,
    )
    for service in SERVICES:
        env = environment(config, service)
        prefix = f"PAID_{service.upper()}_TEMPORAL_"
        assert env[f"{prefix}TARGET"] == "temporal.example:7233"
        assert env[f"{prefix}TLS_CERT_PATH"] == str(client.cert_path.resolve())
        with monkeypatch.context() as scoped:
            for name, value in env.items():
                scoped.setenv(name, value)
            access = temporal_access(SETTINGS[service](), service)
        assert access.namespace == "paid-prod", service
        assert isinstance(access.tls, TLSConfig), service
        assert access.tls.client_cert == client.cert_path.read_bytes(), service
        assert access.tls.domain == "temporal.example", service
        assert access.api_key is None


def test_the_api_key_comes_from_the_environment_and_reaches_every_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = configured_by(
        ["--home", str(tmp_path), "--temporal", "paid.a1b2c.tmprl.cloud:7233"],
        monkeypatch,
        PAID_TEMPORAL_API_KEY=SECRET_KEY,
    )
    for service in SERVICES:
        assert environment(config, service)[f"PAID_{service.upper()}_TEMPORAL_API_KEY"] == SECRET_KEY


def test_without_access_options_the_services_get_no_access_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = configured_by(["--home", str(tmp_path), "--temporal", "127.0.0.1:7233"], monkeypatch)
    assert config.temporal_access == {}
    env = environment(config, "executor")
    assert not [name for name in env if "_TEMPORAL_TLS_" in name or name.endswith("_API_KEY")]
