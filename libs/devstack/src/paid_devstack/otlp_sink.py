"""An OTLP/HTTP trace receiver that keeps spans in memory (and optionally in a JSONL file).

In-process::

    with OtlpSink() as sink:
        exporter = OTLPSpanExporter(endpoint=sink.traces_url)
        ...
        sink.wait_for(lambda spans: any(s.name == "checkout" for s in spans), timeout=10)

As a process, queried over HTTP with `OtlpSinkClient`::

    python -m paid_devstack.otlp_sink --port 4318 --file spans.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit

from google.protobuf.message import DecodeError

from paid_devstack.ports import LOOPBACK
from paid_devstack.spans import SpanRecord, decode_json, decode_protobuf

log = logging.getLogger("paid_devstack.otlp_sink")

SpansPredicate = Callable[[list[SpanRecord]], bool]

# Metrics and logs exporters pointed at the same endpoint get a success answer and are ignored.
_IGNORED_SIGNALS = frozenset({"/v1/metrics", "/v1/logs"})


class OtlpSink:
    def __init__(self, host: str = LOOPBACK, port: int = 0, *, file: Path | None = None) -> None:
        self._host = host
        self._port = port
        self.file = file
        self._spans: list[SpanRecord] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("OtlpSink is not started")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """Base URL, as for OTEL_EXPORTER_OTLP_ENDPOINT (exporters append /v1/traces)."""
        return f"http://{self._host}:{self.port}"

    @property
    def traces_url(self) -> str:
        """Full URL, as for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTLPSpanExporter(endpoint=...)."""
        return f"{self.endpoint}/v1/traces"

    def start(self) -> None:
        if self._server is not None:
            return
        server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        # shutdown() waits up to one poll interval; the default 0.5 s would slow every test's teardown.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="otlp-sink", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def add(self, spans: list[SpanRecord]) -> None:
        with self._changed:
            self._spans.extend(spans)
            if self.file is not None and spans:
                with self.file.open("a", encoding="utf-8") as out:
                    out.writelines(json.dumps(span.to_dict()) + "\n" for span in spans)
            self._changed.notify_all()

    def spans(self) -> list[SpanRecord]:
        with self._changed:
            return list(self._spans)

    def spans_for_trace(self, trace_id: str) -> list[SpanRecord]:
        trace_id = trace_id.lower()
        return [span for span in self.spans() if span.trace_id == trace_id]

    def clear(self) -> None:
        with self._changed:
            self._spans.clear()

    def wait_for(self, predicate: SpansPredicate, timeout: float = 10.0) -> list[SpanRecord]:
        """Block until `predicate(all spans so far)` holds; returns those spans."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self._spans)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(_timeout_message(timeout, self._spans))
                self._changed.wait(remaining)
            return list(self._spans)

    def wait_for_span(self, match: Callable[[SpanRecord], bool], timeout: float = 10.0) -> SpanRecord:
        spans = self.wait_for(lambda spans: any(map(match, spans)), timeout)
        return next(span for span in spans if match(span))

    async def wait_for_async(self, predicate: SpansPredicate, timeout: float = 10.0) -> list[SpanRecord]:
        """`wait_for` without blocking the event loop."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _timeout_message(timeout: float, spans: list[SpanRecord]) -> str:
    seen = sorted({f"{span.service_name}:{span.name}" for span in spans})
    return f"spans did not match within {timeout:.1f}s; {len(spans)} received: {', '.join(seen) or 'none'}"


def _handler_for(sink: OtlpSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            body = self._body()
            is_json = self.headers.get("Content-Type", "").startswith("application/json")
            if path == "/v1/traces":
                try:
                    sink.add(decode_json(body) if is_json else decode_protobuf(body))
                except (DecodeError, ValueError, KeyError, TypeError) as error:
                    self._send(HTTPStatus.BAD_REQUEST, f"cannot decode trace export: {error}".encode())
                    return
            elif path not in _IGNORED_SIGNALS:
                self._send(HTTPStatus.NOT_FOUND, b"not found")
                return
            # An empty Export*ServiceResponse serializes to zero bytes in protobuf and to {} in JSON.
            if is_json:
                self._send(HTTPStatus.OK, b"{}", "application/json")
            else:
                self._send(HTTPStatus.OK, b"", "application/x-protobuf")

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/healthz":
                self._send(HTTPStatus.OK, b"ok")
            elif url.path == "/spans":
                query = parse_qs(url.query)
                spans = sink.spans()
                if trace_ids := query.get("trace_id"):
                    spans = [span for span in spans if span.trace_id == trace_ids[0].lower()]
                if names := query.get("name"):
                    spans = [span for span in spans if span.name == names[0]]
                if services := query.get("service"):
                    spans = [span for span in spans if span.service_name == services[0]]
                payload = json.dumps({"spans": [span.to_dict() for span in spans]}).encode()
                self._send(HTTPStatus.OK, payload, "application/json")
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found")

        def do_DELETE(self) -> None:
            if urlsplit(self.path).path == "/spans":
                sink.clear()
                self._send(HTTPStatus.NO_CONTENT, b"")
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found")

        def _body(self) -> bytes:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding", "").lower() == "gzip":
                body = gzip.decompress(body)
            return body

        def _send(self, status: HTTPStatus, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s " + format, self.address_string(), *args)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m paid_devstack.otlp_sink", description=__doc__)
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--file", type=Path, help="append every span to this JSONL file")
    args = parser.parse_args(argv)
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with OtlpSink(args.host, args.port, file=args.file) as sink:
        print(f"OTLP sink listening on {sink.endpoint}", flush=True)
        stopping.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
