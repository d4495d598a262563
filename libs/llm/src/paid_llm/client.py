"""One interface over the providers, and a client made from settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from paid_llm.anthropic import AnthropicClient
from paid_llm.command import CommandClient
from paid_llm.openai import OpenAIClient
from paid_llm.pricing import FallbackPrice
from paid_llm.types import ChatRequest, Completion, Provider, StreamChunk


class LLMClient(Protocol):
    provider: Provider
    model: str

    async def complete(self, request: ChatRequest) -> Completion: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]: ...

    async def aclose(self) -> None: ...


class LLMSettings(BaseModel):
    """How a service reaches its model; embed it in the service's settings (e.g. `PAID_PLANNER_LLM__*`)."""

    model_config = ConfigDict(frozen=True)

    provider: Provider = Provider.ANTHROPIC
    base_url: str | None = Field(default=None, description="None: the provider's public API")
    model: str = "claude-sonnet-4-5"
    api_key: SecretStr = SecretStr("")
    timeout_seconds: float = Field(default=120.0, gt=0)
    command: tuple[str, ...] = Field(default=(), description="argv of the agent CLI (provider command)")
    fallback_price: FallbackPrice = Field(
        default_factory=FallbackPrice, description="the price of a model the price database does not list"
    )


def make_client(settings: LLMSettings) -> LLMClient:
    key = settings.api_key.get_secret_value()
    if settings.provider is Provider.COMMAND:
        return CommandClient(argv=settings.command, model=settings.model, timeout=settings.timeout_seconds)
    if settings.provider is Provider.ANTHROPIC:
        return AnthropicClient(
            api_key=key,
            model=settings.model,
            base_url=settings.base_url or "https://api.anthropic.com",
            timeout=settings.timeout_seconds,
            fallback_price=settings.fallback_price,
        )
    return OpenAIClient(
        api_key=key,
        model=settings.model,
        base_url=settings.base_url or "https://api.openai.com/v1",
        timeout=settings.timeout_seconds,
        fallback_price=settings.fallback_price,
    )
