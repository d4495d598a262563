"""OpenAI-compatible chat completions (`POST {base_url}/chat/completions`): OpenAI, vLLM, Ollama..."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from paid_llm.completions import finished_completion, streamed_tool_calls
from paid_llm.errors import InvalidResponse
from paid_llm.http import HttpTransport, Json, parse_json_object
from paid_llm.pricing import FallbackPrice
from paid_llm.types import ChatRequest, Completion, Provider, StreamChunk, ToolCall
from paid_llm.usage import UsageMeter, Wire, openai_chat_usage

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIClient:
    provider = Provider.OPENAI

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
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = HttpTransport(
            base_url=base_url, headers=headers, timeout=timeout, provider=self.provider.value
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def body(self, request: ChatRequest, *, stream: bool = False) -> Json:
        messages: list[Json] = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        body: Json = {
            "model": request.model or self.model,
            "max_tokens": request.max_tokens,
            "messages": messages,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
                }
                for t in request.tools
            ]
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    async def complete(self, request: ChatRequest) -> Completion:
        started, requested_at = time.monotonic(), datetime.now(UTC)
        data = await self._http.post_json("chat/completions", self.body(request))
        try:
            choice = data["choices"][0]
            message = choice["message"]
            calls = tuple(
                ToolCall(
                    id=c["id"],
                    name=c["function"]["name"],
                    arguments=json.loads(c["function"].get("arguments") or "{}"),
                )
                for c in message.get("tool_calls") or ()
            )
            usage = openai_chat_usage(data.get("usage") or {})
            model = str(data.get("model") or request.model or self.model)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise InvalidResponse(f"openai answer lacks {error}", provider="openai") from error
        return finished_completion(
            self.provider,
            self._fallback_price,
            model,
            message.get("content") or "",
            calls,
            choice.get("finish_reason"),
            usage,
            started,
            requested_at,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        started, requested_at = time.monotonic(), datetime.now(UTC)
        model, stop_reason = request.model or self.model, None
        text: list[str] = []
        meter = UsageMeter(Wire.OPENAI_CHAT)
        tools: dict[int, dict[str, Any]] = {}
        async for _event, data in self._http.post_sse("chat/completions", self.body(request, stream=True)):
            if data.strip() == "[DONE]":
                break
            chunk = parse_json_object(data, "openai")
            meter.feed_event(chunk)
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    text.append(delta["content"])
                    yield StreamChunk(text=delta["content"])
                for call in delta.get("tool_calls") or ():
                    slot = tools.setdefault(call.get("index", 0), {"id": "", "name": "", "json": ""})
                    slot["id"] = call.get("id") or slot["id"]
                    function = call.get("function") or {}
                    slot["name"] = function.get("name") or slot["name"]
                    slot["json"] += function.get("arguments") or ""
                stop_reason = choice.get("finish_reason") or stop_reason
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
