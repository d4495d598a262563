from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from paid_devstack import OtlpSink, OtlpSinkClient, ServiceSpec, ServiceSupervisor, SpanRecord, free_port


def export_a_trace(traces_url: str, service: str = "devstack-test") -> tuple[str, str]:
    """Exports parent `handle-webhook` and child `publish` (linked to an unrelated span)."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=traces_url)))
    tracer = provider.get_tracer("paid.test")
    with tracer.start_as_current_span("unrelated") as unrelated:
        pass
    with (
        tracer.start_as_current_span("handle-webhook", kind=SpanKind.SERVER) as parent,
        tracer.start_as_current_span(
            "publish",
            kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "nats", "retries": 2, "tags": ["a", "b"]},
            links=[Link(unrelated.get_span_context(), {"reason": "batch"})],
        ) as child,
    ):
        child.add_event("sent", {"bytes": 12})
        child.set_status(Status(StatusCode.ERROR, "nope"))
    provider.shutdown()
    return f"{parent.get_span_context().trace_id:032x}", f"{unrelated.get_span_context().span_id:016x}"


def assert_exported_trace(spans: list[SpanRecord], trace_id: str, unrelated_span_id: str) -> None:
    by_name = {span.name: span for span in spans}
    parent, child = by_name["handle-webhook"], by_name["publish"]
    assert parent.parent_span_id is None
    assert child.parent_span_id == parent.span_id
    assert parent.kind == "SERVER"
    assert child.kind == "PRODUCER"
    assert child.service_name == "devstack-test"
    assert child.attributes == {"messaging.system": "nats", "retries": 2, "tags": ["a", "b"]}
    assert child.status_code == "ERROR"
    assert child.status_message == "nope"
    assert [event.name for event in child.events] == ["sent"]
    assert child.events[0].attributes == {"bytes": 12}
    assert len(child.links) == 1
    assert child.links[0].span_id == unrelated_span_id
    assert child.links[0].attributes == {"reason": "batch"}
    assert child.duration_ns >= 0
    assert {span.trace_id for span in spans} == {trace_id}


def test_receives_spans_from_the_sdk_exporter(tmp_path: Path) -> None:
    spans_file = tmp_path / "spans.jsonl"
    with OtlpSink(file=spans_file) as sink:
        trace_id, unrelated_span_id = export_a_trace(sink.traces_url)
        sink.wait_for(lambda spans: len(spans) == 3, timeout=10)
        assert_exported_trace(sink.spans_for_trace(trace_id), trace_id, unrelated_span_id)

        assert sink.wait_for_span(lambda span: span.name == "publish").kind == "PRODUCER"
        over_http = OtlpSinkClient(sink.endpoint).spans(trace_id=trace_id)
        assert over_http == sink.spans_for_trace(trace_id)

    lines = [json.loads(line) for line in spans_file.read_text().splitlines()]
    assert sorted(line["name"] for line in lines) == ["handle-webhook", "publish", "unrelated"]


def test_receives_otlp_json(tmp_path: Path) -> None:
    trace_id, span_id, parent_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "eee19b7ec3c1b173"
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "manual"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "parentSpanId": parent_id,
                                "name": "from-json",
                                "kind": 3,
                                "startTimeUnixNano": "1544712660000000000",
                                "endTimeUnixNano": "1544712661000000000",
                                "attributes": [
                                    {"key": "http.status_code", "value": {"intValue": "200"}},
                                    {"key": "ok", "value": {"boolValue": True}},
                                ],
                                "links": [{"traceId": trace_id, "spanId": parent_id}],
                                "status": {"code": 1},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    with OtlpSink() as sink:
        response = httpx.post(sink.traces_url, json=body, trust_env=False)
        assert response.status_code == 200
        assert response.json() == {}
        [span] = sink.wait_for(lambda spans: len(spans) == 1, timeout=5)

        bad = httpx.post(sink.traces_url, content=b"\xff\x00", trust_env=False)
        assert bad.status_code == 400
    assert span.trace_id == trace_id
    assert span.span_id == span_id
    assert span.parent_span_id == parent_id
    assert span.kind == "CLIENT"
    assert span.service_name == "json-svc"
    assert span.scope_name == "manual"
    assert span.attributes == {"http.status_code": 200, "ok": True}
    assert span.status_code == "OK"
    assert span.duration_ns == 1_000_000_000
    assert span.links[0].span_id == parent_id


def test_wait_for_times_out_with_what_it_saw() -> None:
    with OtlpSink() as sink, pytest.raises(TimeoutError, match="0 received"):
        sink.wait_for(lambda spans: bool(spans), timeout=0.2)


async def test_wait_for_async_does_not_block_the_loop() -> None:
    with OtlpSink() as sink:
        export_a_trace(sink.traces_url)
        spans = await sink.wait_for_async(lambda spans: len(spans) == 3, timeout=10)
        assert len(spans) == 3


def test_runs_as_a_supervised_process_and_survives_kill_9(tmp_path: Path) -> None:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    spans_file = tmp_path / "spans.jsonl"
    sink = ServiceSpec(
        "otlp-sink",
        [sys.executable, "-m", "paid_devstack.otlp_sink", "--port", str(port), "--file", str(spans_file)],
        health_url=f"{endpoint}/healthz",
    )
    with ServiceSupervisor(tmp_path / "logs") as supervisor:
        supervisor.launch(sink)
        client = OtlpSinkClient(endpoint)
        trace_id, unrelated_span_id = export_a_trace(f"{endpoint}/v1/traces")
        spans = client.wait_for(lambda spans: len(spans) == 2, trace_id=trace_id, timeout=10)
        assert_exported_trace(spans, trace_id, unrelated_span_id)

        first_pid = supervisor.process("otlp-sink").pid
        supervisor.kill("otlp-sink")
        assert not supervisor.is_running("otlp-sink")
        supervisor.start("otlp-sink")
        assert supervisor.process("otlp-sink").pid != first_pid
        # Memory is lost with the process; the JSONL file is not.
        assert client.spans() == []
        assert len(spans_file.read_text().splitlines()) == 3
    assert not supervisor.is_running("otlp-sink")
    assert "OTLP sink listening on" in (tmp_path / "logs" / "otlp-sink.log").read_text()
