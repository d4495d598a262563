"""Temporal client with pydantic payloads and OpenTelemetry spans for client, workflows and activities."""

from __future__ import annotations

import asyncio
import logging
import socket

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from paid_runtime.startup import until_available
from paid_runtime.temporal_access import TemporalAccess, TemporalAccessRefused, refusal_reason

log = logging.getLogger(__name__)
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


async def connect_temporal(
    target: str,
    namespace: str = "default",
    *,
    tls: TLSConfig | bool = False,
    api_key: str | None = None,
    refused_for: str | None = None,
) -> Client:
    """A client for `target`, waiting (up to the startup deadline) while the server is not up yet.

    With `refused_for` (the service's name), a refused credential exits at once with one line
    (`TemporalAccessRefused`): waiting cannot fix it."""

    async def attempt() -> Client:
        try:
            return await Client.connect(
                target,
                namespace=namespace,
                tls=tls,
                api_key=api_key,
                data_converter=pydantic_data_converter,
                interceptors=[TracingInterceptor()],
                runtime=metrics_runtime(),
            )
        except Exception as error:
            reason = refusal_reason(error) if refused_for else None
            if refused_for is None or reason is None:
                raise
            raise TemporalAccessRefused(refused_for, f"{target}: {reason}") from None

    return await until_available("Temporal", attempt)


async def connect_service_temporal(access: TemporalAccess, service: str) -> Client:
    """`connect_temporal` with the service's access settings (address, namespace, mTLS or API key), read
    by `temporal_access` first thing at start-up."""
    return await connect_temporal(
        access.target, access.namespace, tls=access.tls, api_key=access.api_key, refused_for=service
    )


async def check_temporal_admits(access: TemporalAccess, service: str, *, timeout: float = 5.0) -> None:
    """For a service that connects lazily (the gateway serves reads while Temporal is down): one attempt
    at start-up, so that a refused credential exits now; an outage is left to the lazy client."""
    try:
        async with asyncio.timeout(timeout):
            await Client.connect(
                access.target,
                namespace=access.namespace,
                tls=access.tls,
                api_key=access.api_key,
                runtime=metrics_runtime(),
            )
    except Exception as error:
        reason = refusal_reason(error)
        if reason is not None:
            raise TemporalAccessRefused(service, f"{access.target}: {reason}") from None
        log.warning(
            "Temporal at %s not reachable at start-up (%s); connecting on first use", access.target, error
        )


def workflow_ui_url(ui_base: str, namespace: str, workflow_id: str) -> str:
    from urllib.parse import quote

    return f"{ui_base.rstrip('/')}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"
