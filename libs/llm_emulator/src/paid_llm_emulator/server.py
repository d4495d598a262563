"""`LLMEmulator`: the emulator's HTTP server in a background thread, scripted from the test."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

from paid_llm_emulator.app import create_app
from paid_llm_emulator.rules import Api, EmulatedToolCall, Match, RecordedRequest, Reply, Rule, RuleBook


class LLMEmulator:
    """`with LLMEmulator() as llm:` serves Anthropic at `llm.anthropic_base_url` and OpenAI at
    `llm.openai_base_url`; `llm.reply(...)`/`llm.fail(...)` script answers, `llm.requests` records."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.book = RuleBook()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

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
        delay_seconds: float = 0.0,
        **match: Any,
    ) -> None:
        """Answers requests fitting `match` (fields of `Match`: api, model, contains, regex, tool, ...)."""
        reply = Reply(
            text=text,
            tool_calls=tool_calls,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
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

    # Lifecycle
    def start(self, timeout: float = 10.0) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: without, delayed ACKs stall each small response ~40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(self.book), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="llm-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("LLM emulator did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server and self._thread:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)
