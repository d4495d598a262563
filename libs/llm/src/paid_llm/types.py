"""What goes into a model call and what comes out, the same for every provider."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
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
