"""Agent CLIs used as models (`claude -p`, `codex exec`): the prompt on stdin, the answer on stdout.

`claude -p --output-format json` reports tokens and cost, which are kept; other commands are
metered by nothing but their duration (usage zero, cost None).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence

from paid_llm.errors import BadRequest, LLMTimeout, ServerFailed, Unreachable
from paid_llm.types import ChatRequest, Completion, Provider, StreamChunk, Usage
from paid_llm.usage import anthropic_usage


def claude_argv(model: str | None = None) -> tuple[str, ...]:
    return ("claude", "-p", "--output-format", "json", *(("--model", model) if model else ()))


def codex_argv(model: str | None = None) -> tuple[str, ...]:
    return ("codex", "exec", *(("--model", model) if model else ()), "-")


def render_prompt(request: ChatRequest) -> str:
    parts = [request.system] if request.system else []
    if len(request.messages) == 1:
        parts.append(request.messages[0].content)
    else:
        parts += [f"[{m.role}]\n{m.content}" for m in request.messages]
    return "\n\n".join(parts)


class CommandClient:
    provider = Provider.COMMAND

    def __init__(
        self,
        *,
        argv: Sequence[str],
        model: str = "",
        timeout: float = 600.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not argv:
            raise ValueError("CommandClient needs a command")
        self.argv = tuple(argv)
        self.model = model or self.argv[0]
        self.timeout = timeout
        self._env = {**os.environ, **(env or {})}

    async def aclose(self) -> None:
        return None

    async def complete(self, request: ChatRequest) -> Completion:
        if request.tools:
            raise BadRequest("agent CLIs take no tool definitions", provider="command")
        started = time.monotonic()
        try:
            process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._env,
            )
        except OSError as error:
            raise Unreachable(f"cannot run {self.argv[0]}: {error}", provider="command") from error
        try:
            out, err = await asyncio.wait_for(
                process.communicate(render_prompt(request).encode()), self.timeout
            )
        except TimeoutError as error:
            process.kill()
            await process.wait()
            raise LLMTimeout(
                f"{self.argv[0]} ran longer than {self.timeout} s", provider="command"
            ) from error
        if process.returncode != 0:
            tail = err.decode(errors="replace").strip()[-500:]
            raise ServerFailed(f"{self.argv[0]} exited {process.returncode}: {tail}", provider="command")
        text, usage, cost = _parse_output(out.decode(errors="replace"))
        return Completion(
            provider=self.provider,
            model=self.model,
            text=text,
            stop_reason="end_turn",
            usage=usage,
            cost_usd=cost,
            duration_seconds=time.monotonic() - started,
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        completion = await self.complete(request)
        yield StreamChunk(text=completion.text)
        yield StreamChunk(completion=completion)


def _parse_output(out: str) -> tuple[str, Usage, float | None]:
    """`claude -p --output-format json` prints {"result", "usage", "total_cost_usd"}; else plain text."""
    try:
        data = json.loads(out)
    except ValueError:
        return out.strip(), Usage(), None
    if not isinstance(data, dict) or not isinstance(data.get("result"), str):
        return out.strip(), Usage(), None
    raw = data.get("usage")
    usage = anthropic_usage(raw) if isinstance(raw, dict) else Usage()
    cost = data.get("total_cost_usd")
    return data["result"], usage, float(cost) if isinstance(cost, int | float) else None
