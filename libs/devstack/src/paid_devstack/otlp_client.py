"""Query an `OtlpSink` running in another process through its `GET /spans` endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from paid_devstack.spans import SpanRecord


class OtlpSinkClient:
    def __init__(self, endpoint: str, *, timeout: float = 5.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._timeout = timeout

    def spans(self, *, trace_id: str | None = None, name: str | None = None) -> list[SpanRecord]:
        params = {key: value for key, value in (("trace_id", trace_id), ("name", name)) if value}
        response = httpx.get(f"{self.endpoint}/spans", params=params, timeout=self._timeout, trust_env=False)
        response.raise_for_status()
        return [SpanRecord.from_dict(span) for span in response.json()["spans"]]

    def clear(self) -> None:
        httpx.delete(f"{self.endpoint}/spans", timeout=self._timeout, trust_env=False).raise_for_status()

    def wait_for(
        self,
        predicate: Callable[[list[SpanRecord]], bool],
        timeout: float = 10.0,
        *,
        trace_id: str | None = None,
    ) -> list[SpanRecord]:
        """Poll until `predicate(spans)` holds, for the spans of `trace_id` or all of them."""
        deadline = time.monotonic() + timeout
        interval = 0.02
        while True:
            spans = self.spans(trace_id=trace_id)
            if predicate(spans):
                return spans
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"spans did not match within {timeout:.1f}s; {len(spans)} received")
            time.sleep(min(interval, remaining))
            interval = min(interval * 1.5, 0.25)
