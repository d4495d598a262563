"""Temporal client with pydantic payloads and OpenTelemetry spans for client, workflows and activities."""

from __future__ import annotations

import socket

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from paid_runtime.startup import until_available

_runtime: Runtime | None = None
TEMPORAL_METRICS_URL: list[str] = []
"""Where this process's Temporal core serves its Prometheus figures (set by the first connect)."""


def metrics_runtime() -> Runtime:
    """One Temporal runtime per process, exporting worker slots and SDK figures on a loopback port."""
    global _runtime
    if _runtime is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        prometheus = PrometheusConfig(bind_address=f"127.0.0.1:{port}")
        _runtime = Runtime(telemetry=TelemetryConfig(metrics=prometheus))
        TEMPORAL_METRICS_URL[:] = [f"http://127.0.0.1:{port}/metrics"]
    return _runtime


async def connect_temporal(target: str, namespace: str = "default") -> Client:
    """A client for `target`, waiting (up to the startup deadline) while the server is not up yet."""
    return await until_available(
        "Temporal",
        lambda: Client.connect(
            target,
            namespace=namespace,
            data_converter=pydantic_data_converter,
            interceptors=[TracingInterceptor()],
            runtime=metrics_runtime(),
        ),
    )


def workflow_ui_url(ui_base: str, namespace: str, workflow_id: str) -> str:
    from urllib.parse import quote

    return f"{ui_base.rstrip('/')}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"
