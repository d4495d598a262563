"""The whole of Paid on one machine: the infrastructure servers plus the five services as processes.

Services are launched by their console scripts, never imported, and configured only through their
`PAID_<SERVICE>_*` environment variables, exactly as a deployment would configure them.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from paid_devstack.mounts import release_mounts
from paid_devstack.phoenix import PhoenixServer
from paid_devstack.ports import free_port
from paid_devstack.stack import InfraStack
from paid_devstack.supervisor import ServiceSpec, ServiceSupervisor

SERVICES = ("gateway", "poller", "planner", "executor", "evolution")
WITH_NOTIFIER = (*SERVICES, "notifier")
"""What `paid up` starts. The test stacks leave the notifier out: none of them has a channel to send to."""


@dataclass
class PlatformConfig:
    home: Path
    github_api_url: str
    github_token: str
    webhook_secret: str
    otlp_endpoint: str | None = None
    temporal_target: str | None = None
    temporal_ui_url: str | None = None
    temporal_access: dict[str, str] = field(default_factory=dict)
    """How every service reaches that Temporal, without the service prefix (`temporal_access_settings`)."""
    nats_url: str | None = None
    nats_admin_url: str | None = None
    """Provisions the streams of a NATS given by `nats_url`; the services' own logins then come from
    `service_env` (`PAID_<SERVICE>_NATS_USER` / `_NATS_PASSWORD`)."""
    database_url: str | None = None
    nats_nodes: int = 1
    """> 1: a local JetStream cluster of that many nodes, every stream and durable on `nats_replicas`."""
    nats_replicas: int = 1
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    """Extra variables per service name, e.g. {"executor": {"PAID_EXECUTOR_AGENT": "command"}}."""
    services: tuple[str, ...] = SERVICES
    trace_explorer: bool = False
    """Start Arize Phoenix locally and send every service's spans to it (unless otlp_endpoint is set)."""


class PaidPlatform:
    def __init__(self, config: PlatformConfig) -> None:
        self.config = config
        self.infra = InfraStack(
            config.home / "infra",
            temporal_target=config.temporal_target,
            temporal_ui_url=config.temporal_ui_url,
            nats_url=config.nats_url,
            nats_admin_url=config.nats_admin_url,
            database_url=config.database_url,
            nats_nodes=config.nats_nodes,
            nats_replicas=config.nats_replicas,
        )
        self.supervisor = ServiceSupervisor(config.home / "logs")
        self.trace_explorer = PhoenixServer(config.home / "phoenix") if config.trace_explorer else None
        self.http_ports = {name: free_port() for name in config.services}
        self.evolution_api_token = secrets.token_urlsafe(32)
        """Shared by evolution (its API answers only this) and the gateway (which serves that API)."""
        self.notifier_api_token = secrets.token_urlsafe(32)
        """Shared by the notifier (its channels API answers only this) and the gateway, likewise."""

    def start(self, timeout: float = 90.0) -> None:
        if self.trace_explorer is not None:
            self.trace_explorer.start(timeout=300.0)  # the first start installs Phoenix
        self.infra.start(timeout)
        try:
            self.supervisor.launch(*(self._spec(name) for name in self.config.services))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.supervisor.stop_all()
        release_mounts(self.workspace_root)  # a killed executor's overlay worktrees
        self.infra.stop()
        if self.trace_explorer is not None:
            self.trace_explorer.stop()

    @property
    def workspace_root(self) -> Path:
        return self.config.home / "workspaces"

    @property
    def otlp_endpoint(self) -> str | None:
        if self.config.otlp_endpoint:
            return self.config.otlp_endpoint
        return self.trace_explorer.otlp_endpoint if self.trace_explorer else None

    def kill(self, service: str) -> None:
        self.supervisor.kill(service)

    def start_service(self, service: str) -> None:
        self.supervisor.start(service)

    def reconfigure(self, service: str, env: Mapping[str, str]) -> None:
        """Restart a service with `env` added to its settings (e.g. the gateway given a GitHub App)."""
        self.config.service_env.setdefault(service, {}).update(env)
        self.supervisor.reconfigure(service, env)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.http_ports[service]}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url('gateway')}/webhooks/github"

    def log_path(self, service: str) -> Path:
        return self.supervisor.log_dir / f"{service}.log"

    def _spec(self, name: str) -> ServiceSpec:
        return ServiceSpec(
            name=name,
            argv=[_console_script(f"paid-{name}")],
            env=self._env(name),
            health_url=f"{self.url(name)}/readyz",
            ready_timeout=60.0,
        )

    def _env(self, name: str) -> dict[str, str]:
        infra = self.infra.endpoints
        shared: dict[str, str] = {
            "NATS_URL": infra.nats_url,
            "NATS_REPLICAS": str(self.config.nats_replicas),
            "TEMPORAL_TARGET": infra.temporal_target,
            "DATABASE_URL": self.infra.service_database_url(name),
            "HTTP_PORT": str(self.http_ports[name]),
            "GITHUB_API_URL": self.config.github_api_url,
            "GITHUB_TOKEN": self.config.github_token,
        }
        shared |= self.config.temporal_access
        if infra.temporal_ui_url:
            shared["TEMPORAL_UI_URL"] = infra.temporal_ui_url
        if self.otlp_endpoint:
            shared["OTLP_ENDPOINT"] = self.otlp_endpoint
        if self.infra.nats_credentials is not None:
            shared |= self.infra.nats_credentials.service_settings(name)
        if name == "gateway":
            shared["WEBHOOK_SECRETS"] = json.dumps([self.config.webhook_secret])
            if "evolution" in self.http_ports:
                shared["EVOLUTION_API_URL"] = self.url("evolution")
                shared["EVOLUTION_API_TOKEN"] = self.evolution_api_token
            if "notifier" in self.http_ports:
                shared["NOTIFIER_API_URL"] = self.url("notifier")
                shared["NOTIFIER_API_TOKEN"] = self.notifier_api_token
        if name == "evolution":
            shared["API_TOKEN"] = self.evolution_api_token
        if name == "notifier":
            shared["API_TOKEN"] = self.notifier_api_token
        if name == "executor":
            shared["WORKSPACE_ROOT"] = str(self.workspace_root)
        prefix = f"PAID_{name.upper()}_"
        env = {prefix + key: value for key, value in shared.items()}
        return {**env, **_extra(self.config.service_env, name)}

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def temporal_access_settings(
    *,
    namespace: str | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    tls_ca: Path | None = None,
    tls_server_name: str | None = None,
    api_key: str | None = None,
) -> dict[str, str]:
    """An external Temporal's access settings (mTLS, or Temporal Cloud's API key), named as every
    service's settings name them after its prefix; the services check them at start-up."""
    given = {
        "TEMPORAL_NAMESPACE": namespace,
        "TEMPORAL_TLS_CERT_PATH": str(tls_cert.resolve()) if tls_cert else None,
        "TEMPORAL_TLS_KEY_PATH": str(tls_key.resolve()) if tls_key else None,
        "TEMPORAL_TLS_CA_PATH": str(tls_ca.resolve()) if tls_ca else None,
        "TEMPORAL_TLS_SERVER_NAME": tls_server_name,
        "TEMPORAL_API_KEY": api_key,
    }
    return {name: value for name, value in given.items() if value}


def _extra(service_env: Mapping[str, Mapping[str, str]], name: str) -> dict[str, str]:
    return dict(service_env.get(name, {}))


def _console_script(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed; run scripts/bootstrap")
    return found
