"""Both clients against the LLM emulator: answers, streaming, tool calls, tokens, cost, typed errors."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from paid_llm import (
    HTTP_PROVIDERS,
    AnthropicClient,
    AuthenticationFailed,
    BadRequest,
    ChatRequest,
    FallbackPrice,
    LLMClient,
    LLMSettings,
    LLMTimeout,
    Message,
    OpenAIClient,
    Overloaded,
    Provider,
    RateLimited,
    ToolSpec,
    Unreachable,
    Usage,
    database_cost_usd,
    make_client,
)
from paid_llm_emulator import EmulatedToolCall, LLMEmulator

MODELS = {Provider.ANTHROPIC: "claude-sonnet-4-5", Provider.OPENAI: "gpt-4o-mini"}


def client_for(llm: LLMEmulator, provider: Provider, *, timeout: float = 10.0) -> LLMClient:
    base = llm.anthropic_base_url if provider is Provider.ANTHROPIC else llm.openai_base_url
    return make_client(
        LLMSettings(
            provider=provider,
            base_url=base,
            model=MODELS[provider],
            api_key="sk-test",
            timeout_seconds=timeout,
        )
    )


def ask(text: str, **extra: object) -> ChatRequest:
    return ChatRequest(messages=(Message(role="user", content=text),), system="be brief", **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_answers_with_tokens_and_cost_from_the_price_table(
    llm: LLMEmulator, provider: Provider
) -> None:
    llm.reply("hello there", contains="greet", input_tokens=1000, output_tokens=500)
    client = client_for(llm, provider)

    completion = await client.complete(ask("please greet me"))
    await client.aclose()

    assert completion.text == "hello there"
    assert completion.provider is provider
    assert completion.model == MODELS[provider]
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (1000, 500)
    expected = {
        Provider.ANTHROPIC: (1000 * 3.0 + 500 * 15.0) / 1e6,
        Provider.OPENAI: (1000 * 0.15 + 500 * 0.6) / 1e6,
    }
    assert completion.cost_usd == pytest.approx(expected[provider])
    [recorded] = llm.requests
    assert recorded.api == provider.value
    assert recorded.system == "be brief"
    assert recorded.last_user_message == "please greet me"
    key_header = "x-api-key" if provider is Provider.ANTHROPIC else "authorization"
    assert "sk-test" in recorded.headers[key_header]


async def test_a_model_the_price_database_lacks_costs_the_configured_fallback_with_a_warning(
    llm: LLMEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    llm.reply("ok", input_tokens=2_000_000, output_tokens=1_000_000)
    fallback = FallbackPrice(input_per_mtok=10.0, output_per_mtok=20.0)
    client = OpenAIClient(
        api_key="", model="llama3.1:8b-paid-test", base_url=llm.openai_base_url, fallback_price=fallback
    )
    with caplog.at_level(logging.WARNING, logger="paid_llm.pricing"):
        completion = await client.complete(ask("anything"))
    await client.aclose()
    assert completion.usage.input_tokens == 2_000_000
    assert completion.cost_usd == pytest.approx(2 * 10.0 + 1 * 20.0)
    assert "'llama3.1:8b-paid-test' (provider openai) is not in the price database" in caplog.text
    assert "authorization" not in llm.requests[0].headers


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
async def test_streams_text_then_the_whole_completion(llm: LLMEmulator, provider: Provider) -> None:
    answer = "A streamed answer that spans several chunks of the event stream."
    llm.reply(answer, input_tokens=40, output_tokens=12)
    client = client_for(llm, provider)

    chunks = [chunk async for chunk in client.stream(ask("stream please"))]
    await client.aclose()

    pieces = [c.text for c in chunks if c.completion is None]
    assert len(pieces) > 3
    assert "".join(pieces) == answer
    final = chunks[-1].completion
    assert final is not None
    assert final.text == answer
    assert (final.usage.input_tokens, final.usage.output_tokens) == (40, 12)
    assert final.cost_usd is not None
    assert final.cost_usd > 0
    assert llm.requests[0].stream


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
@pytest.mark.parametrize("streamed", [False, True])
async def test_tool_calls(llm: LLMEmulator, provider: Provider, streamed: bool) -> None:
    call = EmulatedToolCall(name="create_issue", arguments={"title": "Split the API", "labels": ["a", "b"]})
    llm.reply(tool_calls=(call,), tool="create_issue")
    tool = ToolSpec(
        name="create_issue", input_schema={"type": "object", "properties": {"title": {"type": "string"}}}
    )
    client = client_for(llm, provider)
    request = ask("file it", tools=(tool,))

    if streamed:
        completion = [c async for c in client.stream(request)][-1].completion
    else:
        completion = await client.complete(request)
    await client.aclose()

    assert completion is not None
    [made] = completion.tool_calls
    assert (made.name, made.arguments) == ("create_issue", {"title": "Split the API", "labels": ["a", "b"]})
    assert made.id
    assert llm.requests[0].tools == ("create_issue",)


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (429, RateLimited, True),
        (529, Overloaded, True),
        (400, BadRequest, False),
        (401, AuthenticationFailed, False),
    ],
)
@pytest.mark.parametrize("streamed", [False, True])
async def test_errors_are_typed(
    llm: LLMEmulator, provider: Provider, status: int, error: type[Exception], retryable: bool, streamed: bool
) -> None:
    llm.fail(status, "scripted trouble", retry_after=7 if status == 429 else None)
    client = client_for(llm, provider)

    async def call() -> object:
        if streamed:
            return [c async for c in client.stream(ask("x"))]
        return await client.complete(ask("x"))

    with pytest.raises(error) as raised:
        await call()
    await client.aclose()

    assert raised.value.retryable is retryable  # type: ignore[attr-defined]
    assert "scripted trouble" in str(raised.value)
    if status == 429:
        assert raised.value.retry_after == 7  # type: ignore[attr-defined]


async def test_an_unmatched_request_is_a_clear_bad_request(llm: LLMEmulator) -> None:
    llm.reply("only for plans", contains="plan")
    client = AnthropicClient(api_key="k", model="claude-sonnet-4-5", base_url=llm.anthropic_base_url)
    with pytest.raises(BadRequest, match="no rule matches"):
        await client.complete(ask("something else"))
    await client.aclose()


async def test_a_rule_with_times_answers_that_often_then_the_next_rule_answers(llm: LLMEmulator) -> None:
    llm.fail(529, times=1)
    llm.reply("recovered")
    client = client_for(llm, Provider.ANTHROPIC)
    with pytest.raises(Overloaded):
        await client.complete(ask("x"))
    assert (await client.complete(ask("x"))).text == "recovered"
    await client.aclose()
    assert len(llm.requests) == 2


async def test_a_slow_answer_times_out(llm: LLMEmulator) -> None:
    llm.reply("too late", delay_seconds=2.0)
    client = client_for(llm, Provider.OPENAI, timeout=0.3)
    with pytest.raises(LLMTimeout) as raised:
        await client.complete(ask("x"))
    await client.aclose()
    assert raised.value.retryable


async def test_an_unreachable_server_is_retryable() -> None:
    client = AnthropicClient(api_key="k", model="m", base_url="http://127.0.0.1:9", timeout=2.0)
    with pytest.raises(Unreachable) as raised:
        await client.complete(ask("x"))
    await client.aclose()
    assert raised.value.retryable


@pytest.mark.parametrize("provider", HTTP_PROVIDERS)
@pytest.mark.parametrize("streamed", [False, True])
async def test_cache_and_reasoning_tokens_are_read_and_priced_from_the_database(
    llm: LLMEmulator, provider: Provider, streamed: bool
) -> None:
    # OpenAI reports no cache writes, Anthropic no reasoning count: each gets what its API reports.
    anthropic = provider is Provider.ANTHROPIC
    expected = Usage(
        input_tokens=50_000,
        cache_read_tokens=30_000,
        cache_write_tokens=8_000 if anthropic else 0,
        output_tokens=900,
        reasoning_tokens=0 if anthropic else 600,
    )
    llm.reply(
        "cached",
        input_tokens=expected.input_tokens,
        output_tokens=expected.output_tokens,
        cache_read_tokens=expected.cache_read_tokens,
        cache_write_tokens=expected.cache_write_tokens,
        reasoning_tokens=expected.reasoning_tokens,
    )
    client = client_for(llm, provider)
    if streamed:
        [completion] = [c.completion async for c in client.stream(ask("hi")) if c.completion]
    else:
        completion = await client.complete(ask("hi"))
    await client.aclose()

    assert completion.usage == expected
    price = database_cost_usd(expected, model=MODELS[provider], provider=provider.value, at=datetime.now(UTC))
    assert price is not None
    assert completion.cost_usd == pytest.approx(price)
    uncached = database_cost_usd(
        Usage(input_tokens=50_000, output_tokens=900),
        model=MODELS[provider],
        provider=provider.value,
        at=datetime.now(UTC),
    )
    assert completion.cost_usd != pytest.approx(uncached)
