"""Flat span records decoded from OTLP trace export requests (protobuf or OTLP/JSON)."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

_KIND_PREFIX = "SPAN_KIND_"
_STATUS_PREFIX = "STATUS_CODE_"


@dataclass(frozen=True)
class SpanLink:
    trace_id: str
    span_id: str
    attributes: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class SpanEvent:
    name: str
    time_unix_nano: int
    attributes: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class SpanRecord:
    """One span with its resource's `service.name`; ids are lowercase hex, kind like "SERVER"."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    service_name: str | None
    start_time_unix_nano: int
    end_time_unix_nano: int
    status_code: str
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict, hash=False)
    resource_attributes: dict[str, Any] = field(default_factory=dict, hash=False)
    scope_name: str = ""
    events: tuple[SpanEvent, ...] = ()
    links: tuple[SpanLink, ...] = ()

    @property
    def duration_ns(self) -> int:
        return self.end_time_unix_nano - self.start_time_unix_nano

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanRecord:
        return cls(
            **{
                **data,
                "events": tuple(SpanEvent(**event) for event in data.get("events", ())),
                "links": tuple(SpanLink(**link) for link in data.get("links", ())),
            }
        )


def decode_protobuf(body: bytes) -> list[SpanRecord]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    return flatten(request)


def decode_json(body: bytes) -> list[SpanRecord]:
    """OTLP/JSON differs from protobuf's JSON mapping in one way that matters: ids are hex, not base64."""
    document = json.loads(body)
    for resource_spans in document.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                _hex_ids_to_base64(span, ("traceId", "spanId", "parentSpanId"))
                for link in span.get("links", ()):
                    _hex_ids_to_base64(link, ("traceId", "spanId"))
    request = json_format.ParseDict(document, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    return flatten(request)


def flatten(request: ExportTraceServiceRequest) -> list[SpanRecord]:
    records: list[SpanRecord] = []
    for resource_spans in request.resource_spans:
        resource_attributes = attributes_dict(resource_spans.resource.attributes)
        service_name = resource_attributes.get("service.name")
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                records.append(_record(span, scope_spans.scope.name, resource_attributes, service_name))
    return records


def _record(
    span: Span, scope_name: str, resource_attributes: dict[str, Any], service_name: Any
) -> SpanRecord:
    return SpanRecord(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() or None,
        name=span.name,
        kind=Span.SpanKind.Name(span.kind).removeprefix(_KIND_PREFIX),
        service_name=str(service_name) if service_name is not None else None,
        start_time_unix_nano=span.start_time_unix_nano,
        end_time_unix_nano=span.end_time_unix_nano,
        status_code=Status.StatusCode.Name(span.status.code).removeprefix(_STATUS_PREFIX),
        status_message=span.status.message,
        attributes=attributes_dict(span.attributes),
        resource_attributes=resource_attributes,
        scope_name=scope_name,
        events=tuple(
            SpanEvent(event.name, event.time_unix_nano, attributes_dict(event.attributes))
            for event in span.events
        ),
        links=tuple(
            SpanLink(link.trace_id.hex(), link.span_id.hex(), attributes_dict(link.attributes))
            for link in span.links
        ),
    )


def attributes_dict(attributes: Any) -> dict[str, Any]:
    pairs: list[KeyValue] = list(attributes)
    return {pair.key: any_value(pair.value) for pair in pairs}


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_dict(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    if kind is None:
        return None
    return getattr(value, kind)


def _hex_ids_to_base64(obj: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if obj.get(key):
            obj[key] = base64.b64encode(bytes.fromhex(obj[key])).decode()
