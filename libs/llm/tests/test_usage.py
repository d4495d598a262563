"""One Usage from every protocol's real-shaped answers, whole and streamed, with nothing counted twice."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from paid_llm import Usage, UsageMeter, Wire, usage_of_answer, wire_for_path


def sse(*events: tuple[str | None, Any]) -> bytes:
    lines = []
    for name, data in events:
        if name:
            lines.append(f"event: {name}")
        lines.append(f"data: {data if isinstance(data, str) else json.dumps(data)}\n")
    return ("\n".join(lines) + "\n").encode()


def metered(wire: Wire, stream: bytes, piece: int = 7) -> UsageMeter:
    """The stream fed in small pieces, as it arrives over the network, split mid-line."""
    meter = UsageMeter(wire)
    for start in range(0, len(stream), piece):
        meter.feed_bytes(stream[start : start + piece])
    return meter


ANTHROPIC_COUNTS = {
    "input_tokens": 12,
    "cache_creation_input_tokens": 2000,
    "cache_read_input_tokens": 30000,
    "cache_creation": {"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 345,
    "service_tier": "standard",
}
ANTHROPIC_USAGE = Usage(
    input_tokens=32012, output_tokens=345, cache_read_tokens=30000, cache_write_tokens=2000
)


def test_anthropic_messages_adds_cache_reads_and_writes_to_the_input() -> None:
    answer = {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": ANTHROPIC_COUNTS,
    }
    assert usage_of_answer(Wire.ANTHROPIC_MESSAGES, json.dumps(answer).encode()) == (
        "claude-sonnet-4-5-20250929",
        ANTHROPIC_USAGE,
    )


@pytest.mark.parametrize("delta_repeats_the_input", [False, True])
def test_anthropic_stream_takes_message_start_then_the_cumulative_message_delta(
    delta_repeats_the_input: bool,
) -> None:
    start_counts = dict(ANTHROPIC_COUNTS, output_tokens=1)
    delta_counts = ANTHROPIC_COUNTS if delta_repeats_the_input else {"output_tokens": 345}
    stream = sse(
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5-20250929", "stop_reason": None, "usage": start_counts}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Hello"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": delta_counts}),
        ("message_stop", {"type": "message_stop"}),
    )  # fmt: skip
    meter = metered(Wire.ANTHROPIC_MESSAGES, stream)
    assert (meter.model, meter.usage) == ("claude-sonnet-4-5-20250929", ANTHROPIC_USAGE)


OPENAI_CHAT_COUNTS = {
    "prompt_tokens": 2006,
    "completion_tokens": 500,
    "total_tokens": 2506,
    "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 384, "audio_tokens": 0},
}
OPENAI_CHAT_USAGE = Usage(input_tokens=2006, output_tokens=500, cache_read_tokens=1920, reasoning_tokens=384)


def test_openai_chat_counts_cached_and_reasoning_tokens_inside_the_totals() -> None:
    answer = {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "o3-mini-2025-01-31",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
        "usage": OPENAI_CHAT_COUNTS,
    }
    assert usage_of_answer(Wire.OPENAI_CHAT, json.dumps(answer).encode()) == (
        "o3-mini-2025-01-31",
        OPENAI_CHAT_USAGE,
    )


def test_openai_chat_stream_reads_the_include_usage_chunk() -> None:
    base = {
        "id": "chatcmpl-abc",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-2024-08-06",
    }
    stream = sse(
        (None, dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}}], usage=None)),
        (None, dict(base, choices=[{"index": 0, "delta": {"content": "Hi"}}], usage=None)),
        (None, dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}], usage=None)),
        (None, dict(base, choices=[], usage=OPENAI_CHAT_COUNTS)),
        (None, "[DONE]"),
    )
    meter = metered(Wire.OPENAI_CHAT, stream)
    assert (meter.model, meter.usage) == ("gpt-4o-2024-08-06", OPENAI_CHAT_USAGE)


RESPONSES_COUNTS = {
    "input_tokens": 1500,
    "input_tokens_details": {"cached_tokens": 1024},
    "output_tokens": 900,
    "output_tokens_details": {"reasoning_tokens": 640},
    "total_tokens": 2400,
}
RESPONSES_USAGE = Usage(input_tokens=1500, output_tokens=900, cache_read_tokens=1024, reasoning_tokens=640)


def test_openai_responses_whole_and_streamed() -> None:
    response = {"id": "resp_1", "object": "response", "model": "o4-mini-2025-04-16", "status": "completed"}
    whole = dict(response, output=[], usage=RESPONSES_COUNTS)
    assert usage_of_answer(Wire.OPENAI_RESPONSES, json.dumps(whole).encode()) == (
        "o4-mini-2025-04-16",
        RESPONSES_USAGE,
    )
    stream = sse(
        ("response.created", {"type": "response.created", "sequence_number": 0,
                              "response": dict(response, status="in_progress", usage=None)}),
        ("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": 1,
                                        "item_id": "msg_1", "output_index": 0, "delta": "Hi"}),
        ("response.completed", {"type": "response.completed", "sequence_number": 2, "response": whole}),
    )  # fmt: skip
    meter = metered(Wire.OPENAI_RESPONSES, stream)
    assert (meter.model, meter.usage) == ("o4-mini-2025-04-16", RESPONSES_USAGE)


GEMINI_FINAL = {
    "promptTokenCount": 4200,
    "candidatesTokenCount": 250,
    "totalTokenCount": 5450,
    "cachedContentTokenCount": 4000,
    "thoughtsTokenCount": 1000,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 4200}],
}
# Gemini's prompt count includes the cache; its candidates count excludes the thoughts.
GEMINI_USAGE = Usage(input_tokens=4200, output_tokens=1250, cache_read_tokens=4000, reasoning_tokens=1000)


def gemini_chunk(text: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}],
        "usageMetadata": usage,
        "modelVersion": "gemini-2.5-flash",
        "responseId": "abc",
    }


def test_gemini_usage_metadata_whole_sse_and_json_array_stream() -> None:
    assert usage_of_answer(Wire.GEMINI, json.dumps(gemini_chunk("Hi", GEMINI_FINAL)).encode()) == (
        "gemini-2.5-flash",
        GEMINI_USAGE,
    )
    partial = {"promptTokenCount": 4200, "candidatesTokenCount": 3, "totalTokenCount": 4203}
    chunks = [gemini_chunk("H", partial), gemini_chunk("i", GEMINI_FINAL)]
    meter = metered(Wire.GEMINI, sse((None, chunks[0]), (None, chunks[1])))
    assert (meter.model, meter.usage) == ("gemini-2.5-flash", GEMINI_USAGE)
    assert usage_of_answer(Wire.GEMINI, json.dumps(chunks).encode()) == ("gemini-2.5-flash", GEMINI_USAGE)


def test_gemini_tool_use_prompt_tokens_are_input_too() -> None:
    counts = {"promptTokenCount": 100, "toolUsePromptTokenCount": 50, "candidatesTokenCount": 10}
    assert usage_of_answer(Wire.GEMINI, json.dumps({"usageMetadata": counts}).encode())[1] == Usage(
        input_tokens=150, output_tokens=10
    )


@pytest.mark.parametrize(
    ("path", "wire"),
    [
        ("/v1/messages", Wire.ANTHROPIC_MESSAGES),
        ("/v1/chat/completions", Wire.OPENAI_CHAT),
        ("/chat/completions", Wire.OPENAI_CHAT),
        ("/v1/responses", Wire.OPENAI_RESPONSES),
        ("/v1beta/models/gemini-2.5-flash:generateContent", Wire.GEMINI),
        ("/v1beta/models/gemini-2.5-flash:streamGenerateContent", Wire.GEMINI),
        ("/v1/models/gemini-2.5-flash:generateContent", Wire.GEMINI),
        ("/v1/models", Wire.ANTHROPIC_MESSAGES),
        ("/v1/messages/count_tokens", Wire.ANTHROPIC_MESSAGES),
        ("/v1/chat/completions/chatcmpl-1", Wire.OPENAI_CHAT),
        ("/v1/completions", Wire.OPENAI_CHAT),
        ("/v1/responses/resp_1", Wire.OPENAI_RESPONSES),
    ],
)
def test_the_protocol_follows_the_path(path: str, wire: Wire) -> None:
    assert wire_for_path(path) is wire


@pytest.mark.parametrize("wire", list(Wire))
def test_malformed_answers_meter_zero_and_never_raise(wire: Wire) -> None:
    hostile = {
        "usage": {"input_tokens": -5, "output_tokens": "9", "prompt_tokens": True, "completion_tokens": 1.5,
                  "prompt_tokens_details": "x", "cache_read_input_tokens": None},
        "usageMetadata": {"promptTokenCount": "many", "thoughtsTokenCount": -1},
        "response": [1, 2],
        "model": 7,
    }  # fmt: skip
    for body in (b"not json", b"[1, null]", b"null", json.dumps(hostile).encode()):
        assert usage_of_answer(wire, body) == ("", Usage())
    meter = metered(wire, b"data: {broken\n\ndata: [DONE]\n" + sse((None, hostile)))
    assert meter.usage == Usage()


def test_a_cached_count_above_the_prompt_is_clamped_so_nothing_is_counted_twice() -> None:
    counts = {"prompt_tokens": 100, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 900}}
    body = json.dumps({"model": "gpt-4o", "usage": counts}).encode()
    assert usage_of_answer(Wire.OPENAI_CHAT, body)[1] == Usage(
        input_tokens=100, output_tokens=5, cache_read_tokens=100
    )


def test_usage_refuses_parts_larger_than_their_totals() -> None:
    with pytest.raises(ValidationError, match="exceed input_tokens"):
        Usage(input_tokens=10, cache_read_tokens=8, cache_write_tokens=3)
    with pytest.raises(ValidationError, match="exceed output_tokens"):
        Usage(output_tokens=10, reasoning_tokens=11)
    with pytest.raises(ValidationError):
        Usage(input_tokens=-1)


def test_usage_adds_every_kind() -> None:
    total = ANTHROPIC_USAGE + OPENAI_CHAT_USAGE
    assert total == Usage(
        input_tokens=34018,
        output_tokens=845,
        cache_read_tokens=31920,
        cache_write_tokens=2000,
        reasoning_tokens=384,
    )
    assert ANTHROPIC_USAGE.uncached_input_tokens == 12
    assert ANTHROPIC_USAGE.total_tokens == 32357
