"""What the executor's metering proxy adds to one model call: the same call made straight to the LLM
emulator and through a MeteringProxy in front of it, alternately, by paid_llm's clients (whole and
streamed, Anthropic and OpenAI). Also what metering and pricing cost alone (paid_llm's UsageMeter and
the genai-prices lookup) on one real-shaped answer. Budgets are per-run in-memory counters here; the
shared ledger does not exist yet. Prints `name value unit` lines."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from paid_executor.proxy import Budget, MeteringProxy
from paid_executor.proxy.server import Upstreams
from paid_llm import (
    HTTP_PROVIDERS,
    ChatRequest,
    LLMClient,
    LLMSettings,
    Message,
    Provider,
    Wire,
    cost_usd,
    make_client,
    usage_of_answer,
)
from paid_llm_emulator import LLMEmulator

MODELS = {Provider.ANTHROPIC: "claude-haiku-4-5", Provider.OPENAI: "gpt-4o-mini"}
REQUEST = ChatRequest(messages=(Message(role="user", content="plan something"),))


def client(provider: Provider, base: str, key: str) -> LLMClient:
    url = base if provider is Provider.ANTHROPIC else f"{base}/v1"
    return make_client(LLMSettings(provider=provider, base_url=url, model=MODELS[provider], api_key=key))


async def complete(llm: LLMClient) -> None:
    await llm.complete(REQUEST)


async def stream(llm: LLMClient) -> None:
    async for _chunk in llm.stream(REQUEST):
        pass


async def timed(call: Callable[[LLMClient], Awaitable[None]], llm: LLMClient) -> float:
    started = time.perf_counter()
    await call(llm)
    return time.perf_counter() - started


async def measure(emulator: LLMEmulator, proxy: MeteringProxy, runs: int) -> None:
    for provider in HTTP_PROVIDERS:
        token, ledger = proxy.open_run(f"bench-{provider.value}", Budget(max_tokens=10**12))
        direct, proxied = client(provider, emulator.url, "sk-bench"), client(provider, proxy.url, token)
        for mode, call in (("complete", complete), ("stream", stream)):
            await call(direct)  # warm both connections
            await call(proxied)
            pairs = [(await timed(call, direct), await timed(call, proxied)) for _ in range(runs)]
            name = f"proxy_{provider.value}_{mode}"
            print(f"{name}_direct_p50 {statistics.median(d for d, _ in pairs) * 1000:.2f} ms")
            print(f"{name}_proxied_p50 {statistics.median(p for _, p in pairs) * 1000:.2f} ms")
            print(f"{name}_overhead_p50 {statistics.median(p - d for d, p in pairs) * 1000:.2f} ms")
        print(f"proxy_{provider.value}_metered_cost {ledger.cost_usd:.6f} usd")
        await direct.aclose()
        await proxied.aclose()


def metering_and_pricing(runs: int) -> float:
    counts = {"input_tokens": 12, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 30000}
    body = json.dumps(
        {"model": "claude-sonnet-4-5-20250929", "usage": dict(counts, output_tokens=345)}
    ).encode()
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        model, usage = usage_of_answer(Wire.ANTHROPIC_MESSAGES, body)
        cost_usd(usage, model=model, provider="anthropic", at=datetime.now(UTC))
        took.append(time.perf_counter() - started)
    return statistics.median(took) * 1_000_000


async def main(runs: int) -> None:
    print(f"proxy_usage_and_price_per_call_p50 {metering_and_pricing(runs * 10):.1f} us")
    with LLMEmulator() as emulator, tempfile.TemporaryDirectory() as scratch:
        emulator.reply(json.dumps({"summary": "s" * 200, "steps": ["a step"] * 20}))
        upstreams = Upstreams(anthropic_url=emulator.url, openai_url=emulator.url)
        proxy = MeteringProxy(upstreams, Path(scratch) / "proxy.sock")
        await proxy.start()
        try:
            await measure(emulator, proxy, runs)
        finally:
            await proxy.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    asyncio.run(main(parser.parse_args().runs))
