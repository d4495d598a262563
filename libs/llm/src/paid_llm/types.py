"""What goes into a model call and what comes out, the same for every provider."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Provider(StrEnum):
    ANTHROPIC = "anthropic"
    OPENAI = "openai"
    COMMAND = "command"  # an agent CLI such as `claude -p` or `codex exec`


HTTP_PROVIDERS = (Provider.ANTHROPIC, Provider.OPENAI)


class Message(_Frozen):
    role: Literal["user", "assistant"]
    content: str


class ToolSpec(_Frozen):
    """A tool the model may call; `input_schema` is a JSON Schema object."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ChatRequest(_Frozen):
    messages: tuple[Message, ...]
    system: str = ""
    model: str | None = Field(default=None, description="overrides the client's default model")
    max_tokens: int = Field(default=4096, gt=0)
    temperature: float | None = None
    tools: tuple[ToolSpec, ...] = ()


class ToolCall(_Frozen):
    id: str
    name: str
    arguments: dict[str, Any]


class Usage(_Frozen):
    """Tokens of one or more calls, the same for every protocol (parsed in `paid_llm.usage`).

    `input_tokens` is everything the model read, cache reads and writes included; `cache_read_tokens`
    and `cache_write_tokens` are the parts of it served from or written to the prompt cache.
    `output_tokens` is everything it wrote, reasoning included; `reasoning_tokens` is that part.
    """

    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cache_read_tokens: int = Field(default=0, ge=0)
    cache_write_tokens: int = Field(default=0, ge=0)
    reasoning_tokens: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _parts_within_totals(self) -> Usage:
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError("cache_read_tokens + cache_write_tokens exceed input_tokens, which include them")
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError("reasoning_tokens exceed output_tokens, which include them")
        return self

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def uncached_input_tokens(self) -> int:
        return max(0, self.input_tokens - self.cache_read_tokens - self.cache_write_tokens)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class Completion(_Frozen):
    """One model answer, with what it cost: `cost_usd` is None when the model has no known price."""

    provider: Provider
    model: str
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    stop_reason: str | None = None
    usage: Usage = Usage()
    cost_usd: float | None = None
    duration_seconds: float = 0.0


class StreamChunk(_Frozen):
    """A piece of a streamed answer; the last chunk carries the whole `completion`."""

    text: str = ""
    completion: Completion | None = None
