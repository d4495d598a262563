"""Anthropic's and OpenAI chat's wire shapes: bodies, streamed events, errors, from a scripted reply."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

from paid_llm_emulator.rules import Api, RecordedRequest, Reply

Json = dict[str, Any]
ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def approx_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


def text_of(content: Any) -> str:
    """A message's text, whether content is a string or a list of blocks/parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def record(api: Api, path: str, body: Json, headers: dict[str, str]) -> RecordedRequest:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    user = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    if api == "anthropic":
        system = text_of(body.get("system", ""))
        tools = tuple(str(t.get("name")) for t in body.get("tools") or [])
    else:
        system = "\n".join(text_of(m.get("content")) for m in messages if m.get("role") == "system")
        tools = tuple(str((t.get("function") or {}).get("name")) for t in body.get("tools") or [])
    return RecordedRequest(
        api=api,
        path=path,
        model=str(body.get("model", "")),
        system=system,
        last_user_message=user[-1] if user else "",
        tools=tools,
        stream=bool(body.get("stream")),
        headers=headers,
        body=body,
    )


def usage_of(reply: Reply, request: RecordedRequest) -> tuple[int, int]:
    """(input, output) tokens: cache reads and writes are part of the input, reasoning of the output."""
    turns = request.body.get("messages") or request.body.get("input") or []
    prompt = request.system + "".join(text_of(m.get("content")) for m in turns if isinstance(m, dict))
    output = reply.text + "".join(json.dumps(c.arguments) for c in reply.tool_calls)
    cached = reply.cache_read_tokens + reply.cache_write_tokens
    return (
        reply.input_tokens if reply.input_tokens is not None else max(approx_tokens(prompt), cached),
        reply.output_tokens
        if reply.output_tokens is not None
        else max(approx_tokens(output), reply.reasoning_tokens),
    )


def anthropic_usage(reply: Reply, tokens_in: int, tokens_out: int) -> Json:
    """Anthropic's shape: `input_tokens` counts only what was neither read from nor written to the cache."""
    return {
        "input_tokens": tokens_in - reply.cache_read_tokens - reply.cache_write_tokens,
        "cache_creation_input_tokens": reply.cache_write_tokens,
        "cache_read_input_tokens": reply.cache_read_tokens,
        "output_tokens": tokens_out,
    }


def error_body(api: Api, status: int, message: str) -> Json:
    if api == "anthropic":
        kind = ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": "rate_limit_exceeded" if status == 429 else "error"}}


def call_id(api: Api, index: int, given: str | None) -> str:
    return given or f"{'toolu' if api == 'anthropic' else 'call'}_{index}_{uuid.uuid4().hex[:12]}"


def anthropic_message(reply: Reply, request: RecordedRequest) -> Json:
    content: list[Json] = [{"type": "text", "text": reply.text}] if reply.text or not reply.tool_calls else []
    content += [
        {"type": "tool_use", "id": call_id("anthropic", i, c.id), "name": c.name, "input": c.arguments}
        for i, c in enumerate(reply.tool_calls)
    ]
    tokens_in, tokens_out = usage_of(reply, request)
    return {
        "id": f"msg_{uuid.uuid4().hex[:20]}",
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": content,
        "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": anthropic_usage(reply, tokens_in, tokens_out),
    }


def chunks(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def sse(event: str | None, data: Json | str) -> str:
    payload = data if isinstance(data, str) else json.dumps(data)
    return (f"event: {event}\n" if event else "") + f"data: {payload}\n\n"


def anthropic_stream(reply: Reply, request: RecordedRequest) -> Iterator[str]:
    message = anthropic_message(reply, request)
    tokens_in, tokens_out = usage_of(reply, request)
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": anthropic_usage(reply, tokens_in, 1),
    }
    yield sse("message_start", {"type": "message_start", "message": start})
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            opened: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in chunks(block["text"])]
        else:
            opened = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": piece}
                for piece in chunks(json.dumps(block["input"]))
            ]
        yield sse(
            "content_block_start", {"type": "content_block_start", "index": index, "content_block": opened}
        )
        for delta in deltas:
            yield sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        yield sse("content_block_stop", {"type": "content_block_stop", "index": index})
    yield sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": tokens_out},
        },
    )
    yield sse("message_stop", {"type": "message_stop"})


def openai_completion(reply: Reply, request: RecordedRequest) -> Json:
    tokens_in, tokens_out = usage_of(reply, request)
    message: Json = {
        "role": "assistant",
        "content": reply.text if reply.text or not reply.tool_calls else None,
    }
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call_id("openai", i, c.id),
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for i, c in enumerate(reply.tool_calls)
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:20]}",
        "object": "chat.completion",
        "model": request.model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if reply.tool_calls else "stop"}
        ],
        "usage": {  # OpenAI's shape: cached and reasoning tokens are parts of the totals
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
            "prompt_tokens_details": {"cached_tokens": reply.cache_read_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reply.reasoning_tokens, "audio_tokens": 0},
        },
    }


def openai_stream(reply: Reply, request: RecordedRequest) -> Iterator[str]:
    whole = openai_completion(reply, request)
    base = {"id": whole["id"], "object": "chat.completion.chunk", "model": request.model}

    def chunk(delta: Json, finish: str | None = None) -> str:
        return sse(None, {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    yield chunk({"role": "assistant", "content": ""})
    for piece in chunks(reply.text):
        yield chunk({"content": piece})
    for index, call in enumerate(whole["choices"][0]["message"].get("tool_calls") or []):
        function = call["function"]
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": function["name"], "arguments": ""},
                    }
                ]
            }
        )
        for piece in chunks(function["arguments"]):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, whole["choices"][0]["finish_reason"])
    if (request.body.get("stream_options") or {}).get("include_usage"):
        yield sse(None, {**base, "choices": [], "usage": whole["usage"]})
    yield sse(None, "[DONE]")
