"""The metering proxy against a provider answering in each protocol's real shape, whole and streamed:
the agent gets the provider's bytes unchanged, the ledger gets paid_llm's one Usage priced from the
price database, and the run's token never reaches the provider."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from paid_executor.proxy import Budget, MeteringProxy
from paid_executor.proxy.server import Upstreams
from paid_llm import FallbackPrice, Usage, cost_usd
from paid_threaded_server import ThreadedServer


def sse(*events: dict[str, Any] | str) -> bytes:
    return b"".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode() for e in events)


ANTHROPIC = {"input_tokens": 12, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 30000}
CHAT = {"prompt_tokens": 2006, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 1920}}
RESPONSES = {
    "input_tokens": 1500,
    "input_tokens_details": {"cached_tokens": 1024},
    "output_tokens": 900,
    "output_tokens_details": {"reasoning_tokens": 640},
    "total_tokens": 2400,
}
GEMINI = {
    "promptTokenCount": 4200,
    "cachedContentTokenCount": 4000,
    "candidatesTokenCount": 250,
    "thoughtsTokenCount": 1000,
}
CLAUDE, GPT, O4, FLASH = (
    "claude-sonnet-4-5-20250929",
    "gpt-4o-2024-08-06",
    "o4-mini-2025-04-16",
    "gemini-2.5-flash",
)


def gemini(usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"parts": [{"text": "hi"}]}}],
        "usageMetadata": usage,
        "modelVersion": FLASH,
    }


# (path, auth header, whole answer, streamed answer, provider, model, expected usage)
CASES: dict[str, tuple[str, str, bytes, bytes, str, str, Usage]] = {
    "anthropic": (
        "/v1/messages",
        "x-api-key",
        json.dumps(
            {"type": "message", "model": CLAUDE, "content": [], "usage": dict(ANTHROPIC, output_tokens=345)}
        ).encode(),
        sse(
            {
                "type": "message_start",
                "message": {"model": CLAUDE, "usage": dict(ANTHROPIC, output_tokens=1)},
            },
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}},
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 345}},
            {"type": "message_stop"},
        ),
        "anthropic",
        CLAUDE,
        Usage(input_tokens=32012, output_tokens=345, cache_read_tokens=30000, cache_write_tokens=2000),
    ),
    "openai-chat": (
        "/v1/chat/completions",
        "authorization",
        json.dumps({"object": "chat.completion", "model": GPT, "choices": [], "usage": CHAT}).encode(),
        sse(
            {"model": GPT, "choices": [{"index": 0, "delta": {"content": "hi"}}], "usage": None},
            {"model": GPT, "choices": [], "usage": CHAT},
            "[DONE]",
        ),
        "openai",
        GPT,
        Usage(input_tokens=2006, output_tokens=300, cache_read_tokens=1920),
    ),
    "openai-responses": (
        "/v1/responses",
        "authorization",
        json.dumps({"object": "response", "model": O4, "output": [], "usage": RESPONSES}).encode(),
        sse(
            {"type": "response.created", "response": {"model": O4, "usage": None}},
            {"type": "response.output_text.delta", "delta": "hi"},
            {"type": "response.completed", "response": {"model": O4, "usage": RESPONSES}},
        ),
        "openai",
        O4,
        Usage(input_tokens=1500, output_tokens=900, cache_read_tokens=1024, reasoning_tokens=640),
    ),
    "gemini": (
        f"/v1beta/models/{FLASH}:generateContent",
        "x-goog-api-key",
        json.dumps(gemini(GEMINI)).encode(),
        sse(gemini({"promptTokenCount": 4200, "candidatesTokenCount": 1}), gemini(GEMINI)),
        "gemini",
        FLASH,
        Usage(input_tokens=4200, output_tokens=1250, cache_read_tokens=4000, reasoning_tokens=1000),
    ),
}


class CannedProvider(ThreadedServer):
    """Answers every request with `answer(path)` and remembers what it was sent."""

    def __init__(self, answer: Callable[[str], tuple[str, bytes]]) -> None:
        super().__init__()
        self.answer = answer
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    def build_app(self) -> Starlette:
        async def handle(request: Request) -> Response:
            self.seen.append((request.url.path, request.url.query, dict(request.headers)))
            media_type, body = self.answer(request.url.path)
            return Response(body, media_type=media_type)

        return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])


@pytest.fixture
async def provider() -> AsyncIterator[CannedProvider]:
    async with CannedProvider(lambda path: ("application/json", b"{}")) as server:
        yield server


@pytest.fixture
async def proxy(provider: CannedProvider, tmp_path: Path) -> AsyncIterator[MeteringProxy]:
    url = f"http://127.0.0.1:{provider.port}"
    upstreams = Upstreams(
        anthropic_url=url,
        anthropic_key="sk-ant-real",
        openai_url=url,
        openai_key="sk-openai-real",
        gemini_url=url,
        gemini_key="gemini-real",
    )
    proxy = MeteringProxy(
        upstreams, tmp_path / "proxy.sock", fallback_price=FallbackPrice(input_per_mtok=7.0)
    )
    await proxy.start()
    yield proxy
    await proxy.stop()


def credential(header: str, token: str) -> dict[str, str]:
    return {header: f"Bearer {token}" if header == "authorization" else token}


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("protocol", list(CASES))
async def test_each_protocol_is_metered_and_priced_once(
    proxy: MeteringProxy, provider: CannedProvider, protocol: str, streamed: bool
) -> None:
    path, header, whole, stream, provider_name, model, expected = CASES[protocol]
    if streamed and protocol == "gemini":
        path = path.replace(":generateContent", ":streamGenerateContent")
    body = stream if streamed else whole
    provider.answer = lambda _path: ("text/event-stream" if streamed else "application/json", body)
    token, ledger = proxy.open_run("run-1", Budget())

    async with httpx.AsyncClient(base_url=proxy.url) as client:
        answer = await client.post(
            path,
            params={"alt": "sse"} if streamed else None,
            headers=credential(header, token),
            json={"model": model},
        )

    assert answer.status_code == 200
    assert answer.content == body
    assert ledger.calls == 1
    assert ledger.usage == expected
    assert ledger.cost_usd == pytest.approx(
        cost_usd(expected, model=model, provider=provider_name, at=datetime.now(UTC))
    )
    assert ledger.cost_usd > 0
    [(_, query, headers)] = provider.seen
    assert token not in json.dumps(headers)
    assert token not in query
    assert {
        "x-api-key": "sk-ant-real",
        "authorization": "Bearer sk-openai-real",
        "x-goog-api-key": "gemini-real",
    }[header] == headers[header]


async def test_a_gemini_key_in_the_query_is_taken_and_replaced(
    proxy: MeteringProxy, provider: CannedProvider
) -> None:
    path, _, whole, _, _, _, expected = CASES["gemini"]
    provider.answer = lambda _path: ("application/json", whole)
    token, ledger = proxy.open_run("run-1", Budget())
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        answer = await client.post(path, params={"key": token, "alt": "json"}, json={})
    assert answer.status_code == 200
    assert ledger.usage == expected
    [(_, query, headers)] = provider.seen
    assert query == "alt=json"
    assert headers["x-goog-api-key"] == "gemini-real"


async def test_a_model_missing_from_the_database_costs_the_configured_fallback(
    proxy: MeteringProxy, provider: CannedProvider
) -> None:
    counts = {"prompt_tokens": 1_000_000, "completion_tokens": 0}
    provider.answer = lambda _path: (
        "application/json",
        json.dumps({"model": "my-local-model", "usage": counts}).encode(),
    )
    token, ledger = proxy.open_run("run-1", Budget())
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        await client.post("/v1/chat/completions", headers=credential("authorization", token), json={})
    assert ledger.cost_usd == pytest.approx(7.0)


async def test_an_unknown_token_is_refused_before_the_provider(
    proxy: MeteringProxy, provider: CannedProvider
) -> None:
    proxy.open_run("run-1", Budget())
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        for headers in ({"x-api-key": "sk-ant-real"}, {"x-goog-api-key": "guess"}, {}):
            answer = await client.post("/v1/messages", headers=headers, json={})
            assert answer.status_code == 401
        answer = await client.post(
            f"/v1beta/models/{FLASH}:generateContent", params={"key": "guess"}, json={}
        )
        assert answer.status_code == 401
    assert provider.seen == []


async def test_calls_past_the_budget_never_reach_the_provider(
    proxy: MeteringProxy, provider: CannedProvider
) -> None:
    _, _, whole, _, _, _, expected = CASES["anthropic"]
    provider.answer = lambda _path: ("application/json", whole)
    token, ledger = proxy.open_run("run-1", Budget(max_tokens=expected.total_tokens))
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        first = await client.post("/v1/messages", headers={"x-api-key": token}, json={})
        second = await client.post("/v1/messages", headers={"x-api-key": token}, json={})
    assert (first.status_code, second.status_code) == (200, 403)
    assert "budget exceeded" in second.json()["error"]["message"]
    assert (len(provider.seen), ledger.calls, ledger.refused) == (1, 1, 1)


async def test_an_upstream_without_a_key_gets_no_credential_at_all(
    provider: CannedProvider, tmp_path: Path
) -> None:
    _, _, whole, _, _, _, expected = CASES["openai-chat"]
    provider.answer = lambda _path: ("application/json", whole)
    proxy = MeteringProxy(Upstreams(openai_url=f"http://127.0.0.1:{provider.port}"), tmp_path / "p.sock")
    await proxy.start()
    try:
        token, ledger = proxy.open_run("run-1", Budget())
        async with httpx.AsyncClient(base_url=proxy.url) as client:
            answer = await client.post(
                "/v1/chat/completions", headers=credential("authorization", token), json={}
            )
    finally:
        await proxy.stop()
    assert answer.status_code == 200
    assert ledger.usage == expected
    [(_, _, headers)] = provider.seen
    assert "authorization" not in headers
    assert token not in json.dumps(headers)
