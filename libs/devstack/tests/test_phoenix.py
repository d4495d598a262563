"""The local trace explorer receives OTLP from an exporter configured as Paid's services configure it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from paid_devstack import wait_until
from paid_devstack.phoenix import PhoenixServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def phoenix() -> Iterator[PhoenixServer]:
    with PhoenixServer(Path(tempfile.mkdtemp(prefix="paid-phoenix-"))) as server:
        yield server


# Heavy: starting Phoenix takes half a minute; the default run checks the OTLP path itself
# (tests/integration/test_tracing.py, test_otlp_sink.py).
@pytest.mark.heavy
def test_spans_sent_over_otlp_are_browsable_in_phoenix(phoenix: PhoenixServer) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "executor"}))
    exporter = OTLPSpanExporter(endpoint=f"{phoenix.otlp_endpoint}/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("RunWorkflow:AgentExecutionWorkflow") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()

    def stored() -> list[dict[str, object]]:
        response = httpx.get(f"{phoenix.ui_url}/v1/projects/default/spans", timeout=5.0)
        response.raise_for_status()
        spans: list[dict[str, object]] = response.json()["data"]
        return [s for s in spans if s["context"]["trace_id"] == trace_id]  # type: ignore[index]

    wait_until(lambda: bool(stored()), timeout=30, what="the span in Phoenix")
    assert stored()[0]["name"] == "RunWorkflow:AgentExecutionWorkflow"
    assert httpx.get(phoenix.ui_url, timeout=5.0).status_code == 200, "the web UI is served"
