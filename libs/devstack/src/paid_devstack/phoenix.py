"""A local trace explorer: Arize Phoenix, installed from PyPI on first use by `uv tool run` (so Paid's
own environment stays lean), receiving OTLP over HTTP and serving its web UI on the same port."""

from __future__ import annotations

import shutil
from pathlib import Path

from paid_devstack.ports import LOOPBACK, free_port
from paid_devstack.processes import ManagedProcess, wait_http_ok
from paid_devstack.server import LocalServer

PHOENIX_REQUIREMENT = "arize-phoenix==20.26.1"


class PhoenixServer(LocalServer):
    """Traces sent to `otlp_endpoint` (OTLP/HTTP, `/v1/traces`) are browsable at `ui_url`."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        uv = shutil.which("uv")
        if uv is None:
            raise FileNotFoundError("the trace explorer is started with uv: run scripts/bootstrap")
        self.process = ManagedProcess(
            "phoenix",
            [uv, "tool", "run", "--from", PHOENIX_REQUIREMENT, "phoenix", "serve"],
            log_path=self.data_dir / "phoenix.log",
            env={
                "PHOENIX_HOST": LOOPBACK,
                "PHOENIX_PORT": str(self.port),
                "PHOENIX_GRPC_PORT": str(free_port()),
                "PHOENIX_WORKING_DIR": str(self.data_dir),
                "PHOENIX_TELEMETRY_ENABLED": "false",
            },
            cwd=self.data_dir,
        )

    @property
    def ui_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def otlp_endpoint(self) -> str:
        return self.ui_url

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def _wait_ready(self, timeout: float) -> None:
        wait_http_ok(f"{self.ui_url}/healthz", timeout, self.process)
