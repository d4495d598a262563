"""Scripted answers: the first rule (in the order added) whose match fits the request answers it."""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Api = Literal["anthropic", "openai", "responses", "gemini"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(_Frozen):
    """Every field given must hold; an empty match fits every request."""

    api: Api | None = None
    model: str | None = None
    contains: str | None = Field(default=None, description="substring of the last user message")
    regex: str | None = Field(default=None, description="re.search on the last user message")
    system_contains: str | None = None
    tool: str | None = Field(default=None, description="the request offers a tool of this name")

    def fits(self, request: RecordedRequest) -> bool:
        return (
            (self.api is None or self.api == request.api)
            and (self.model is None or self.model == request.model)
            and (self.contains is None or self.contains in request.last_user_message)
            and (self.regex is None or re.search(self.regex, request.last_user_message) is not None)
            and (self.system_contains is None or self.system_contains in request.system)
            and (self.tool is None or self.tool in request.tools)
        )


class EmulatedToolCall(_Frozen):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class Reply(_Frozen):
    """A successful answer (`text`, `tool_calls`) or, with `status` >= 400, an API error."""

    text: str = ""
    tool_calls: tuple[EmulatedToolCall, ...] = ()
    status: int = 200
    error_message: str = "scripted error"
    retry_after: float | None = None
    input_tokens: int | None = Field(default=None, description="None: about one token per 4 characters")
    output_tokens: int | None = None
    cache_read_tokens: int = Field(default=0, ge=0, description="part of the input read from the cache")
    cache_write_tokens: int = Field(default=0, ge=0, description="part of the input cached (Anthropic)")
    reasoning_tokens: int = Field(default=0, ge=0, description="part of the output (OpenAI reports it)")
    delay_seconds: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _parts_within_totals(self) -> Reply:
        cached = self.cache_read_tokens + self.cache_write_tokens
        if self.input_tokens is not None and cached > self.input_tokens:
            raise ValueError("cache_read_tokens + cache_write_tokens exceed input_tokens, which include them")
        if self.output_tokens is not None and self.reasoning_tokens > self.output_tokens:
            raise ValueError("reasoning_tokens exceed output_tokens, which include them")
        return self


class Rule(_Frozen):
    match: Match = Match()
    reply: Reply
    times: int | None = Field(default=None, gt=0, description="answers at most this often; None: always")


class RecordedRequest(_Frozen):
    api: Api
    path: str
    model: str
    system: str
    last_user_message: str
    tools: tuple[str, ...]
    stream: bool
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float = Field(default_factory=time.time, description="when it arrived (epoch seconds)")


class RuleBook:
    """Rules and recorded requests, shared by the HTTP threads and the test that scripts them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[list[Any]] = []  # [rule, answers left or None]
        self._requests: list[RecordedRequest] = []

    def add(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append([rule, rule.times])

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._requests.clear()

    def answer(self, request: RecordedRequest) -> Reply | None:
        with self._lock:
            self._requests.append(request)
            for entry in self._rules:
                rule, left = entry
                if left == 0 or not rule.match.fits(request):
                    continue
                if left is not None:
                    entry[1] = left - 1
                return rule.reply  # type: ignore[no-any-return]
            return None

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)
