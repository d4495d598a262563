"""Temporal client with pydantic payloads and OpenTelemetry spans for client, workflows and activities."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter

from paid_runtime.startup import until_available


async def connect_temporal(target: str, namespace: str = "default") -> Client:
    """A client for `target`, waiting (up to the startup deadline) while the server is not up yet."""
    return await until_available(
        "Temporal",
        lambda: Client.connect(
            target,
            namespace=namespace,
            data_converter=pydantic_data_converter,
            interceptors=[TracingInterceptor()],
        ),
    )


def workflow_ui_url(ui_base: str, namespace: str, workflow_id: str) -> str:
    from urllib.parse import quote

    return f"{ui_base.rstrip('/')}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"
