"""Token usage from Anthropic- and OpenAI-style responses, whole or streamed as server-sent events."""

from __future__ import annotations

import json
from typing import Any

from paid_executor.proxy.ledger import Usage


def usage_from_json(document: Any) -> Usage:
    usage = document.get("usage") if isinstance(document, dict) else None
    if not isinstance(usage, dict):
        return Usage()
    if "prompt_tokens" in usage or "completion_tokens" in usage:  # OpenAI chat completions
        return Usage(_int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")))
    if "output_tokens" in usage and "input_tokens" in usage and "total_tokens" in usage:  # OpenAI responses
        return Usage(_int(usage.get("input_tokens")), _int(usage.get("output_tokens")))
    read = sum(
        _int(usage.get(key))
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return Usage(read, _int(usage.get("output_tokens")))


class StreamMeter:
    """Fed the raw SSE bytes as they pass; keeps the largest counts seen (Anthropic repeats them)."""

    def __init__(self) -> None:
        self._buffer = b""
        self.input_tokens = 0
        self.output_tokens = 0
        self.model = ""

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                self._data(line[5:].strip())

    def _data(self, data: bytes) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        message = event.get("message") if isinstance(event.get("message"), dict) else None
        response = event.get("response") if isinstance(event.get("response"), dict) else None
        for source in (event, message, response):
            if source is None:
                continue
            if isinstance(source.get("model"), str):
                self.model = source["model"]
            if isinstance(source.get("usage"), dict):
                usage = usage_from_json(source)
                self.input_tokens = max(self.input_tokens, usage.input_tokens)
                self.output_tokens = max(self.output_tokens, usage.output_tokens)

    @property
    def usage(self) -> Usage:
        return Usage(self.input_tokens, self.output_tokens)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
