"""Structured output: validated against the schema, repaired once, then a clear typed failure."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from paid_llm import (
    HTTP_PROVIDERS,
    ChatRequest,
    LLMSettings,
    Message,
    Provider,
    StructuredOutputError,
    Usage,
    complete_structured,
    extract_json,
    make_client,
)
from paid_llm_emulator import LLMEmulator


class Verdict(BaseModel):
    answer: str
    confidence: float


def request() -> ChatRequest:
    return ChatRequest(messages=(Message(role="user", content="judge this"),))


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_a_valid_answer_needs_one_call(llm: LLMEmulator, provider: Provider) -> None:
    llm.reply('```json\n{"answer": "yes", "confidence": 0.9}\n```', output_tokens=10, input_tokens=100)
    base = llm.anthropic_base_url if provider is Provider.ANTHROPIC else llm.openai_base_url
    model = "claude-haiku-4-5" if provider is Provider.ANTHROPIC else "gpt-4o"
    client = make_client(LLMSettings(provider=provider, base_url=base, model=model))

    result = await complete_structured(client, request(), Verdict)
    await client.aclose()

    assert result.value == Verdict(answer="yes", confidence=0.9)
    assert not result.repaired
    assert result.usage == Usage(input_tokens=100, output_tokens=10)
    assert '"confidence"' in llm.requests[0].system  # the schema is in the instructions


async def test_an_invalid_answer_is_repaired_once_quoting_the_errors(llm: LLMEmulator) -> None:
    llm.reply('{"answer": "yes"}', times=1, input_tokens=100, output_tokens=10)
    llm.reply(
        '{"answer": "yes", "confidence": 0.5}',
        contains="does not match the schema",
        input_tokens=150,
        output_tokens=12,
    )
    client = make_client(LLMSettings(base_url=llm.anthropic_base_url, model="claude-sonnet-4-5"))

    result = await complete_structured(client, request(), Verdict)
    await client.aclose()

    assert result.value.confidence == 0.5
    assert result.repaired
    assert result.usage == Usage(input_tokens=250, output_tokens=22)
    assert result.cost_usd == pytest.approx((250 * 3.0 + 22 * 15.0) / 1e6)
    repair = llm.requests[1]
    assert "confidence: Field required" in repair.last_user_message
    assert [m["role"] for m in repair.body["messages"]] == ["user", "assistant", "user"]


async def test_a_second_invalid_answer_fails_clearly_after_exactly_two_calls(llm: LLMEmulator) -> None:
    llm.reply("I think the answer is yes.")
    client = make_client(LLMSettings(provider=Provider.OPENAI, base_url=llm.openai_base_url, model="gpt-4o"))

    with pytest.raises(StructuredOutputError) as raised:
        await complete_structured(client, request(), Verdict)
    await client.aclose()

    assert len(llm.requests) == 2
    assert "Verdict" in str(raised.value)
    assert raised.value.outputs == ("I think the answer is yes.", "I think the answer is yes.")
    assert not raised.value.retryable


def test_json_is_found_in_prose_and_fences() -> None:
    assert extract_json('Here: {"a": 1} done') == '{"a": 1}'
    assert extract_json('```\n{"a": 2}\n```') == '{"a": 2}'
    assert extract_json(' {"a": 3} ') == '{"a": 3}'
    with_fence_inside = '{"text": "```diff\\n-a\\n+b\\n```"}'
    assert extract_json(with_fence_inside) == with_fence_inside
    assert extract_json('Plan:\n```json\n{"a": 4}\n```\nand ```diff\n-x\n```') == '{"a": 4}'
