"""Overhead of one model call through paid_llm, against the local LLM emulator (no model time):
what the LLM layer and HTTP add to every call a service makes. Prints `name value unit` lines."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from pydantic import BaseModel

from paid_llm import (
    HTTP_PROVIDERS,
    ChatRequest,
    LLMSettings,
    Message,
    Provider,
    complete_structured,
    make_client,
)
from paid_llm_emulator import LLMEmulator


class Answer(BaseModel):
    summary: str
    steps: list[str]


async def measure(llm: LLMEmulator, provider: Provider, runs: int) -> dict[str, float]:
    base = llm.anthropic_base_url if provider is Provider.ANTHROPIC else llm.openai_base_url
    client = make_client(
        LLMSettings(
            provider=provider,
            base_url=base,
            model="claude-haiku-4-5" if provider is Provider.ANTHROPIC else "gpt-4o-mini",
        )
    )
    request = ChatRequest(messages=(Message(role="user", content="plan something"),))
    figures: dict[str, list[float]] = {"complete": [], "stream": [], "structured": []}
    for _ in range(runs):
        started = time.perf_counter()
        await client.complete(request)
        figures["complete"].append(time.perf_counter() - started)
        started = time.perf_counter()
        async for _chunk in client.stream(request):
            pass
        figures["stream"].append(time.perf_counter() - started)
        started = time.perf_counter()
        await complete_structured(client, request, Answer)
        figures["structured"].append(time.perf_counter() - started)
    await client.aclose()
    return {name: statistics.median(values) * 1000 for name, values in figures.items()}


async def main(runs: int) -> None:
    with LLMEmulator() as llm:
        llm.reply(json.dumps({"summary": "s" * 200, "steps": ["a step"] * 20}))
        for provider in HTTP_PROVIDERS:
            for name, value in (await measure(llm, provider, runs)).items():
                print(f"llm_{provider.value}_{name}_p50 {value:.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    asyncio.run(main(parser.parse_args().runs))
