"""Anthropic Messages API (`POST {base_url}/v1/messages`), plain and streamed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from paid_llm.completions import finished_completion, streamed_tool_calls
from paid_llm.errors import InvalidResponse, error_for_status
from paid_llm.http import HttpTransport, Json, parse_json_object
from paid_llm.pricing import FallbackPrice
from paid_llm.types import ChatRequest, Completion, Provider, StreamChunk, ToolCall
from paid_llm.usage import UsageMeter, Wire, anthropic_usage

API_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"


class AnthropicClient:
    provider = Provider.ANTHROPIC

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 120.0,
        fallback_price: FallbackPrice | None = None,
    ) -> None:
        self.model = model
        self._fallback_price = fallback_price or FallbackPrice()
        self._http = HttpTransport(
            base_url=base_url,
            headers={"x-api-key": api_key, "anthropic-version": API_VERSION},
            timeout=timeout,
            provider=self.provider.value,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def body(self, request: ChatRequest, *, stream: bool = False) -> Json:
        body: Json = {
            "model": request.model or self.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        if request.system:
            body["system"] = request.system
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.input_schema}
                for t in request.tools
            ]
        if stream:
            body["stream"] = True
        return body

    async def complete(self, request: ChatRequest) -> Completion:
        started, requested_at = time.monotonic(), datetime.now(UTC)
        data = await self._http.post_json("v1/messages", self.body(request))
        try:
            text = "".join(b["text"] for b in data["content"] if b.get("type") == "text")
            calls = tuple(
                ToolCall(id=b["id"], name=b["name"], arguments=b.get("input") or {})
                for b in data["content"]
                if b.get("type") == "tool_use"
            )
            if not isinstance(data["usage"], dict):
                raise TypeError("usage is not an object")
            usage = anthropic_usage(data["usage"])
            model = str(data.get("model") or request.model or self.model)
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidResponse(f"anthropic answer lacks {error}", provider="anthropic") from error
        return finished_completion(
            self.provider,
            self._fallback_price,
            model,
            text,
            calls,
            data.get("stop_reason"),
            usage,
            started,
            requested_at,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        started, requested_at = time.monotonic(), datetime.now(UTC)
        model, stop_reason = request.model or self.model, None
        text: list[str] = []
        meter = UsageMeter(Wire.ANTHROPIC_MESSAGES)
        tools: dict[int, dict[str, Any]] = {}
        async for _event, data in self._http.post_sse("v1/messages", self.body(request, stream=True)):
            event = parse_json_object(data, "anthropic")
            meter.feed_event(event)
            kind = event.get("type")
            if kind == "content_block_start":
                block = event.get("content_block", {})
                if block.get("type") == "tool_use":
                    tools[event["index"]] = {"id": block["id"], "name": block["name"], "json": ""}
            elif kind == "content_block_delta":
                delta = event.get("delta", {})
                if delta.get("type") == "text_delta":
                    text.append(delta["text"])
                    yield StreamChunk(text=delta["text"])
                elif delta.get("type") == "input_json_delta":
                    tools[event["index"]]["json"] += delta.get("partial_json", "")
            elif kind == "message_delta":
                stop_reason = event.get("delta", {}).get("stop_reason", stop_reason)
            elif kind == "error":
                error = event.get("error", {})
                status = 529 if error.get("type") == "overloaded_error" else 500
                raise error_for_status(status, str(error.get("message")), provider="anthropic")
        calls = streamed_tool_calls(tools)
        yield StreamChunk(
            completion=finished_completion(
                self.provider,
                self._fallback_price,
                meter.model or model,
                "".join(text),
                calls,
                stop_reason,
                meter.usage,
                started,
                requested_at,
            )
        )
