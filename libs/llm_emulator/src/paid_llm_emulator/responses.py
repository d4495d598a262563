"""OpenAI's Responses API (`/v1/responses`), as Codex speaks it: the request's `instructions` and
`input` items, the response's `output` items (messages and function calls) and its streamed events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from paid_llm_emulator.rules import RecordedRequest, Reply
from paid_llm_emulator.wire import Json, call_id, chunks, sse, text_of, usage_of


def record_responses(path: str, body: Json, headers: dict[str, str]) -> RecordedRequest:
    items = [item for item in body.get("input") or [] if isinstance(item, dict)]
    instructions = [str(body.get("instructions") or "")]
    system = [text_of(i.get("content")) for i in items if i.get("role") in ("system", "developer")]
    user = [text_of(i.get("content")) for i in items if i.get("role") == "user"]
    tools = tuple(
        str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")
    )
    return RecordedRequest(
        api="responses",
        path=path,
        model=str(body.get("model", "")),
        system="\n".join(part for part in instructions + system if part),
        last_user_message=user[-1] if user else "",
        tools=tools,
        stream=bool(body.get("stream")),
        headers=headers,
        body=body,
    )


def responses_body(reply: Reply, request: RecordedRequest, *, status: str = "completed") -> Json:
    tokens_in, tokens_out = usage_of(reply, request)
    output: list[Json] = []
    if reply.text or not reply.tool_calls:
        output.append(
            {
                "type": "message",
                "id": f"msg_{uuid.uuid4().hex[:20]}",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": reply.text, "annotations": []}],
            }
        )
    output += [
        {
            "type": "function_call",
            "id": f"fc_{uuid.uuid4().hex[:20]}",
            "call_id": call_id("responses", index, call.id),
            "name": call.name,
            "arguments": json.dumps(call.arguments),
            "status": "completed",
        }
        for index, call in enumerate(reply.tool_calls)
    ]
    return {
        "id": f"resp_{uuid.uuid4().hex[:20]}",
        "object": "response",
        "status": status,
        "model": request.model,
        "output": output,
        "usage": {  # cached tokens are part of the input, reasoning tokens of the output
            "input_tokens": tokens_in,
            "input_tokens_details": {"cached_tokens": reply.cache_read_tokens},
            "output_tokens": tokens_out,
            "output_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
            "total_tokens": tokens_in + tokens_out,
        },
    }


def responses_stream(reply: Reply, request: RecordedRequest) -> Iterator[str]:
    whole = responses_body(reply, request)
    sequence = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> str:
        return sse(kind, {"type": kind, "sequence_number": next(sequence), **fields})

    started = dict(whole, status="in_progress", output=[], usage=None)
    yield event("response.created", response=started)
    yield event("response.in_progress", response=started)
    for index, item in enumerate(whole["output"]):
        if item["type"] == "message":
            yield event("response.output_item.added", output_index=index, item=dict(item, content=[]))
            text = item["content"][0]["text"]
            part = {"type": "output_text", "text": "", "annotations": []}
            ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
            yield event("response.content_part.added", **ids, part=part)
            for piece in chunks(text):
                yield event("response.output_text.delta", **ids, delta=piece)
            yield event("response.output_text.done", **ids, text=text)
            yield event("response.content_part.done", **ids, part=dict(part, text=text))
        else:
            yield event("response.output_item.added", output_index=index, item=dict(item, arguments=""))
            ids = {"item_id": item["id"], "output_index": index}
            for piece in chunks(item["arguments"]):
                yield event("response.function_call_arguments.delta", **ids, delta=piece)
            yield event("response.function_call_arguments.done", **ids, arguments=item["arguments"])
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.completed", response=whole)
