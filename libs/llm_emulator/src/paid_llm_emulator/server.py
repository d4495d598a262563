"""`LLMEmulator`: the emulator's HTTP server in a background thread, scripted from the test."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from paid_llm_emulator.app import create_app
from paid_llm_emulator.rules import Api, EmulatedToolCall, Match, RecordedRequest, Reply, Rule, RuleBook
from paid_threaded_server import ThreadedServer


class LLMEmulator(ThreadedServer):
    """`with LLMEmulator() as llm:` serves Anthropic at `llm.anthropic_base_url` and OpenAI at
    `llm.openai_base_url`; `llm.reply(...)`/`llm.fail(...)` script answers, `llm.requests` records."""

    thread_name = "llm-emulator"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.book = RuleBook()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def anthropic_base_url(self) -> str:
        return self.url

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    # Scripting
    def add_rule(self, rule: Rule) -> None:
        self.book.add(rule)

    def reply(
        self,
        text: str = "",
        *,
        tool_calls: tuple[EmulatedToolCall, ...] = (),
        times: int | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        delay_seconds: float = 0.0,
        **match: Any,
    ) -> None:
        """Answers requests fitting `match` (fields of `Match`: api, model, contains, regex, tool, ...)."""
        reply = Reply(
            text=text,
            tool_calls=tool_calls,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=cache_read_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
            delay_seconds=delay_seconds,
        )
        self.add_rule(Rule(match=Match(**match), reply=reply, times=times))

    def fail(
        self,
        status: int,
        message: str = "scripted error",
        *,
        times: int | None = 1,
        retry_after: float | None = None,
        **match: Any,
    ) -> None:
        reply = Reply(status=status, error_message=message, retry_after=retry_after)
        self.add_rule(Rule(match=Match(**match), reply=reply, times=times))

    def clear(self) -> None:
        self.book.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.book.requests

    def requests_to(self, api: Api) -> list[RecordedRequest]:
        return [r for r in self.requests if r.api == api]

    def build_app(self) -> FastAPI:
        return create_app(self.book)
