"""paid-llm: the one metered path from Paid's services to language models.

Anthropic Messages and OpenAI-compatible chat completions over httpx, streaming, typed errors,
structured output with one repair attempt, tokens and cost per call from a price table kept as data.
"""

from paid_llm.anthropic import AnthropicClient
from paid_llm.client import LLMClient, LLMSettings, make_client
from paid_llm.command import CommandClient, claude_argv, codex_argv
from paid_llm.errors import (
    AuthenticationFailed,
    BadRequest,
    InvalidResponse,
    LLMError,
    LLMTimeout,
    Overloaded,
    RateLimited,
    ServerFailed,
    StructuredOutputError,
    Unreachable,
)
from paid_llm.openai import OpenAIClient
from paid_llm.pricing import Price, PriceTable, cost_usd, default_prices, load_prices
from paid_llm.structured import Structured, complete_structured, extract_json
from paid_llm.types import (
    HTTP_PROVIDERS,
    ChatRequest,
    Completion,
    Message,
    Provider,
    StreamChunk,
    ToolCall,
    ToolSpec,
    Usage,
)

__all__ = [
    "HTTP_PROVIDERS",
    "AnthropicClient",
    "AuthenticationFailed",
    "BadRequest",
    "ChatRequest",
    "CommandClient",
    "Completion",
    "InvalidResponse",
    "LLMClient",
    "LLMError",
    "LLMSettings",
    "LLMTimeout",
    "Message",
    "OpenAIClient",
    "Overloaded",
    "Price",
    "PriceTable",
    "Provider",
    "RateLimited",
    "ServerFailed",
    "StreamChunk",
    "Structured",
    "StructuredOutputError",
    "ToolCall",
    "ToolSpec",
    "Unreachable",
    "Usage",
    "claude_argv",
    "codex_argv",
    "complete_structured",
    "cost_usd",
    "default_prices",
    "extract_json",
    "load_prices",
    "make_client",
]
