"""Gemini's `models/{model}:generateContent` and `:streamGenerateContent` (`alt=sse`), as the Gemini CLI
speaks them: `contents` with `parts`, `systemInstruction`, `functionDeclarations`, `usageMetadata`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from paid_llm_emulator.rules import RecordedRequest, Reply
from paid_llm_emulator.wire import Json, chunks, sse, usage_of


def parts_text(content: Any) -> str:
    parts = content.get("parts") if isinstance(content, dict) else None
    return "".join(str(p.get("text", "")) for p in parts or [] if isinstance(p, dict))


def record_gemini(
    path: str, model: str, stream: bool, body: Json, headers: dict[str, str]
) -> RecordedRequest:
    contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
    user = [parts_text(c) for c in contents if c.get("role", "user") == "user" and parts_text(c)]
    declarations = [
        d
        for tool in body.get("tools") or []
        if isinstance(tool, dict)
        for d in tool.get("functionDeclarations") or []
    ]
    return RecordedRequest(
        api="gemini",
        path=path,
        model=model,
        system=parts_text(body.get("systemInstruction") or body.get("system_instruction")),
        last_user_message=user[-1] if user else "",
        tools=tuple(str(d.get("name")) for d in declarations if isinstance(d, dict)),
        stream=stream,
        headers=headers,
        # The turns under `messages`, as the other protocols keep them, for usage estimates.
        body=body | {"messages": [{"content": parts_text(c)} for c in contents]},
    )


def gemini_usage(reply: Reply, request: RecordedRequest) -> Json:
    """Gemini's shape: cached tokens are part of the prompt; thoughts are counted beside the output."""
    tokens_in, tokens_out = usage_of(reply, request)
    candidates = tokens_out - reply.reasoning_tokens
    return {
        "promptTokenCount": tokens_in,
        "candidatesTokenCount": candidates,
        "cachedContentTokenCount": reply.cache_read_tokens,
        "thoughtsTokenCount": reply.reasoning_tokens,
        "totalTokenCount": tokens_in + tokens_out,
    }


def gemini_response(reply: Reply, request: RecordedRequest) -> Json:
    parts: list[Json] = [{"text": reply.text}] if reply.text or not reply.tool_calls else []
    parts += [{"functionCall": {"name": call.name, "args": call.arguments}} for call in reply.tool_calls]
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": gemini_usage(reply, request),
        "modelVersion": request.model,
        "responseId": uuid.uuid4().hex[:20],
    }


def gemini_stream(reply: Reply, request: RecordedRequest) -> Iterator[str]:
    """Text in pieces, then the function calls, then the finish with the whole usage."""
    whole = gemini_response(reply, request)
    base = {"modelVersion": request.model, "responseId": whole["responseId"]}

    def chunk(parts: list[Json], **extra: Any) -> str:
        candidate = {"content": {"role": "model", "parts": parts}, "index": 0} | extra
        return sse(None, base | {"candidates": [candidate]})

    for piece in chunks(reply.text):
        yield chunk([{"text": piece}])
    calls = [part for part in whole["candidates"][0]["content"]["parts"] if "functionCall" in part]
    if calls:
        yield chunk(calls)
    yield sse(
        None,
        base
        | {
            "candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": whole["usageMetadata"],
        },
    )
