"""Token usage as each protocol reports it, whole or streamed, read into the one `Usage`.

What counts where differs by protocol, so each is read on its own terms:
- Anthropic Messages: `input_tokens` excludes the cache; `cache_read_input_tokens` and
  `cache_creation_input_tokens` come on top. `output_tokens` includes thinking. Streamed, the counts
  arrive in `message_start` and are updated (cumulatively) by `message_delta`.
- OpenAI chat completions: `prompt_tokens` includes `prompt_tokens_details.cached_tokens`;
  `completion_tokens` includes `completion_tokens_details.reasoning_tokens`. Streamed, only the last
  chunk carries `usage` (with `stream_options.include_usage`).
- OpenAI Responses: `input_tokens` includes `input_tokens_details.cached_tokens`; `output_tokens`
  includes `output_tokens_details.reasoning_tokens`. Streamed, `response.completed` carries it.
- Gemini `usageMetadata`: `promptTokenCount` includes `cachedContentTokenCount`, while
  `candidatesTokenCount` excludes `thoughtsTokenCount` and `toolUsePromptTokenCount` is read on top
  of the prompt. Streamed, every chunk carries the counts so far.
Counts that are missing, negative or not integers read as 0: a malformed answer never stops metering.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from paid_llm.types import Usage


class Wire(StrEnum):
    ANTHROPIC_MESSAGES = "anthropic-messages"
    OPENAI_CHAT = "openai-chat"
    OPENAI_RESPONSES = "openai-responses"
    GEMINI = "gemini"


def wire_for_path(path: str) -> Wire:
    """The protocol of a request by its URL path; Anthropic's unless the path says otherwise."""
    last = path.rsplit("/", 1)[-1]
    if path.startswith(("/v1beta/", "/upload/v1beta/")) or (path.startswith("/v1/models/") and ":" in last):
        return Wire.GEMINI
    if path.startswith(("/v1/responses", "/responses")):
        return Wire.OPENAI_RESPONSES
    if path.startswith(("/v1/chat", "/v1/completions", "/chat", "/completions")):
        return Wire.OPENAI_CHAT
    return Wire.ANTHROPIC_MESSAGES


def anthropic_usage(raw: Mapping[str, Any]) -> Usage:
    cache_read = _count(raw, "cache_read_input_tokens")
    cache_write = _count(raw, "cache_creation_input_tokens")
    return Usage(
        input_tokens=_count(raw, "input_tokens") + cache_read + cache_write,
        output_tokens=_count(raw, "output_tokens"),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


def openai_chat_usage(raw: Mapping[str, Any]) -> Usage:
    return _included(
        input_tokens=_count(raw, "prompt_tokens"),
        cached=_count(_mapping(raw, "prompt_tokens_details"), "cached_tokens"),
        output_tokens=_count(raw, "completion_tokens"),
        reasoning=_count(_mapping(raw, "completion_tokens_details"), "reasoning_tokens"),
    )


def openai_responses_usage(raw: Mapping[str, Any]) -> Usage:
    return _included(
        input_tokens=_count(raw, "input_tokens"),
        cached=_count(_mapping(raw, "input_tokens_details"), "cached_tokens"),
        output_tokens=_count(raw, "output_tokens"),
        reasoning=_count(_mapping(raw, "output_tokens_details"), "reasoning_tokens"),
    )


def gemini_usage(raw: Mapping[str, Any]) -> Usage:
    thoughts = _count(raw, "thoughtsTokenCount")
    return _included(
        input_tokens=_count(raw, "promptTokenCount") + _count(raw, "toolUsePromptTokenCount"),
        cached=_count(raw, "cachedContentTokenCount"),
        output_tokens=_count(raw, "candidatesTokenCount") + thoughts,
        reasoning=thoughts,
    )


def _included(*, input_tokens: int, cached: int, output_tokens: int, reasoning: int) -> Usage:
    # The parts are reported inside the totals; a provider claiming more than the total is clamped.
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=min(cached, input_tokens),
        reasoning_tokens=min(reasoning, output_tokens),
    )


class UsageMeter:
    """The model and usage of one call, fed its whole JSON answer, its decoded stream events, or the
    raw bytes of its server-sent events as they pass."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.model = ""
        self.usage = Usage()
        self._anthropic_counts: dict[str, Any] = {}
        self._buffer = b""

    def feed_bytes(self, chunk: bytes) -> None:
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                self._feed_text(line[5:].strip())

    def feed_body(self, body: bytes) -> None:
        """A whole answer; Gemini's JSON-array stream (without `alt=sse`) counts by its last element."""
        self._feed_text(body)

    def _feed_text(self, data: bytes) -> None:
        try:
            document = json.loads(data)
        except ValueError:
            return
        if isinstance(document, list):
            for item in document:
                self.feed_event(item)
        else:
            self.feed_event(document)

    def feed_event(self, event: Any) -> None:
        if not isinstance(event, Mapping):
            return
        if self.wire is Wire.ANTHROPIC_MESSAGES:
            self._anthropic(event)
        elif self.wire is Wire.OPENAI_CHAT:
            self._take_model(event, "model")
            if isinstance(event.get("usage"), Mapping):
                self.usage = openai_chat_usage(event["usage"])
        elif self.wire is Wire.OPENAI_RESPONSES:
            response = event.get("response", event)  # stream events wrap the response object
            if isinstance(response, Mapping):
                self._take_model(response, "model")
                if isinstance(response.get("usage"), Mapping):
                    self.usage = openai_responses_usage(response["usage"])
        else:
            self._take_model(event, "modelVersion")
            if isinstance(event.get("usageMetadata"), Mapping):
                self.usage = gemini_usage(event["usageMetadata"])

    def _anthropic(self, event: Mapping[str, Any]) -> None:
        source = event.get("message", event) if event.get("type") == "message_start" else event
        if not isinstance(source, Mapping):
            return
        self._take_model(source, "model")
        counts = source.get("usage")
        if isinstance(counts, Mapping):
            # `message_delta` repeats the counts so far (output grows); absent or null ones stay.
            self._anthropic_counts.update({k: v for k, v in counts.items() if v is not None})
            self.usage = anthropic_usage(self._anthropic_counts)

    def _take_model(self, source: Mapping[str, Any], key: str) -> None:
        if isinstance(source.get(key), str) and source[key]:
            self.model = source[key]


def usage_of_answer(wire: Wire, body: bytes) -> tuple[str, Usage]:
    """The model and usage of a whole (not streamed) answer body; ("", zero) if it has none."""
    meter = UsageMeter(wire)
    meter.feed_body(body)
    return meter.model, meter.usage


def _mapping(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


def _count(raw: Mapping[str, Any], key: str) -> int:
    value = raw.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
