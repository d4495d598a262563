"""OpenTelemetry set-up shared by every service: one tracer provider, OTLP/HTTP export, W3C propagation."""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from paid_contracts import TraceContext

_provider: TracerProvider | None = None


def setup_tracing(
    service_name: str, otlp_endpoint: str | None, exporter: SpanExporter | None = None
) -> TracerProvider:
    """Installs the global tracer provider once per process; later calls return it unchanged."""
    global _provider
    if _provider is not None:
        return _provider
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    if exporter is None and otlp_endpoint:
        exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def instrument_http_clients() -> None:
    """Every httpx client made from now on (githubkit's, the LLM layer's) traces its requests as CLIENT
    spans, children of the activity or handler that sends them. Opt-in per service: the outgoing
    `traceparent` would otherwise make in-process test clients the parents of the servers they call."""
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def shutdown_tracing() -> None:
    if _provider is not None:
        _provider.shutdown()


def current_trace_context() -> TraceContext:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return TraceContext(traceparent=carrier.get("traceparent"), tracestate=carrier.get("tracestate"))


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
