"""Temporal's development server (`temporal server start-dev`), persisted in a SQLite file."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from paid_devstack.binaries import temporal_binary
from paid_devstack.ports import LOOPBACK, free_port
from paid_devstack.processes import ManagedProcess, wait_http_ok, wait_tcp
from paid_devstack.server import LocalServer

# WAL keeps SQLite's default synchronous=FULL, so commits still survive power loss, and doubles
# workflow-start throughput here (108 -> 178/s sequential, 116 -> 245/s concurrent). Adding
# synchronous=normal reaches 222/407 per second but may lose the last commits on power loss.
DEFAULT_SQLITE_PRAGMAS: Mapping[str, str] = {"journal_mode": "wal"}
# An activity scheduled on the workflow's own task queue comes back in the reply to the workflow task
# that scheduled it, when the worker has a free slot, instead of waiting for a poll (off by default in
# the server): fetch_issue and prepare_workspace, before each run's agent (bench/eager_activities.py).
DEFAULT_DYNAMIC_CONFIG: Mapping[str, object] = {"system.enableActivityEagerExecution": True}


class TemporalDevServer(LocalServer):
    """Frontend gRPC on `target`, Web UI on `ui_url`, HTTP API on `http_url`.

    Ready means the gRPC port accepts connections and the HTTP API describes the namespace:
    the HTTP API answers a little before the gRPC listener is up, so neither check alone suffices.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        ui_port: int | None = None,
        *,
        http_port: int | None = None,
        namespace: str = "default",
        extra_namespaces: Sequence[str] = (),
        headless: bool = False,
        log_level: str = "warn",
        dynamic_config: Mapping[str, object] | None = None,
        sqlite_pragmas: Mapping[str, str] | None = None,
        binary: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.ui_port = ui_port or free_port()
        self.http_port = http_port or free_port()
        self.metrics_port = free_port()  # start-dev serves /metrics anyway, on a port it would not name
        self.namespace = namespace
        self.headless = headless
        self.db_path = self.data_dir / "temporal.db"
        argv: list[str | Path] = [
            binary or temporal_binary(),
            "server",
            "start-dev",
            "--ip", LOOPBACK,
            "--port", str(self.port),
            "--http-port", str(self.http_port),
            "--metrics-port", str(self.metrics_port),
            "--db-filename", str(self.db_path),
            "--log-level", log_level,
            "--namespace", namespace,
        ]  # fmt: skip
        for extra in extra_namespaces:
            argv += ["--namespace", extra]
        if headless:
            argv.append("--headless")
        else:
            argv += ["--ui-port", str(self.ui_port)]
        for key, value in {**DEFAULT_DYNAMIC_CONFIG, **(dynamic_config or {})}.items():
            argv += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
        pragmas = DEFAULT_SQLITE_PRAGMAS if sqlite_pragmas is None else sqlite_pragmas
        for pragma, value in pragmas.items():
            argv += ["--sqlite-pragma", f"{pragma}={value}"]
        self.process = ManagedProcess(
            "temporal",
            argv,
            log_path=self.data_dir / "temporal.log",
            pid_file=self.data_dir / "temporal.pid",
            cwd=self.data_dir,
        )

    @property
    def target(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return None if self.headless else f"http://{LOOPBACK}:{self.ui_port}"

    @property
    def http_url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def metrics_url(self) -> str:
        """The server's Prometheus metrics (requests by operation: what a run costs the server)."""
        return f"http://{LOOPBACK}:{self.metrics_port}/metrics"

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def _wait_ready(self, timeout: float) -> None:
        wait_tcp(LOOPBACK, self.port, timeout, self.process)
        wait_http_ok(f"{self.http_url}/api/v1/namespaces/{self.namespace}", timeout, self.process)
