"""paid-llm: the one metered path from Paid's services to language models.

Anthropic Messages and OpenAI-compatible chat completions over httpx, streaming, typed errors,
structured output with one repair attempt, tokens (one `Usage` for every protocol) and cost per call
from the `genai-prices` database.
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
from paid_llm.pricing import FallbackPrice, cost_usd, database_cost_usd
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
from paid_llm.usage import (
    UsageMeter,
    Wire,
    anthropic_usage,
    gemini_usage,
    openai_chat_usage,
    openai_responses_usage,
    usage_of_answer,
    wire_for_path,
)

__all__ = [
    "HTTP_PROVIDERS",
    "AnthropicClient",
    "AuthenticationFailed",
    "BadRequest",
    "ChatRequest",
    "CommandClient",
    "Completion",
    "FallbackPrice",
    "InvalidResponse",
    "LLMClient",
    "LLMError",
    "LLMSettings",
    "LLMTimeout",
    "Message",
    "OpenAIClient",
    "Overloaded",
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
    "UsageMeter",
    "Wire",
    "anthropic_usage",
    "claude_argv",
    "codex_argv",
    "complete_structured",
    "cost_usd",
    "database_cost_usd",
    "extract_json",
    "gemini_usage",
    "make_client",
    "openai_chat_usage",
    "openai_responses_usage",
    "usage_of_answer",
    "wire_for_path",
]
