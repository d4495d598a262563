"""Agent CLIs as models: real subprocesses standing in for `claude -p` (JSON output) and plain CLIs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from paid_llm import (
    ChatRequest,
    LLMSettings,
    LLMTimeout,
    Message,
    Provider,
    ServerFailed,
    claude_argv,
    codex_argv,
    complete_structured,
    make_client,
)

CLAUDE_LIKE = """
import json, sys
prompt = sys.stdin.read()
answer = {"ok": True, "echo": prompt.splitlines()[-1]}
print(json.dumps({"type": "result", "result": json.dumps(answer), "total_cost_usd": 0.0123,
                  "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 7}}))
"""


class Echo(BaseModel):
    ok: bool
    echo: str


def ask(text: str) -> ChatRequest:
    return ChatRequest(system="be brief", messages=(Message(role="user", content=text),))


async def test_a_claude_like_cli_answers_with_tokens_and_cost(tmp_path: Path) -> None:
    script = tmp_path / "claude_like.py"
    script.write_text(CLAUDE_LIKE)
    settings = LLMSettings(
        provider=Provider.COMMAND, command=(sys.executable, str(script)), model="claude-cli"
    )
    client = make_client(settings)

    result = await complete_structured(client, ask("say hello"), Echo)

    assert result.value == Echo(ok=True, echo="say hello")
    [completion] = result.completions
    assert completion.provider is Provider.COMMAND
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (15, 7)
    assert completion.cost_usd == 0.0123


async def test_plain_output_failures_and_timeouts(tmp_path: Path) -> None:
    plain = make_client(
        LLMSettings(provider=Provider.COMMAND, command=(sys.executable, "-c", "print(input().upper())"))
    )
    completion = await plain.complete(ChatRequest(messages=(Message(role="user", content="hi"),)))
    assert (completion.text, completion.cost_usd, completion.usage.output_tokens) == ("HI", None, 0)

    failing = make_client(
        LLMSettings(
            provider=Provider.COMMAND, command=(sys.executable, "-c", "import sys; sys.exit('no key')")
        )
    )
    with pytest.raises(ServerFailed, match="no key"):
        await failing.complete(ask("x"))

    slow = make_client(
        LLMSettings(
            provider=Provider.COMMAND,
            command=(sys.executable, "-c", "import time; time.sleep(5)"),
            timeout_seconds=0.5,
        )
    )
    with pytest.raises(LLMTimeout):
        await slow.complete(ask("x"))


def test_the_cli_presets() -> None:
    assert claude_argv("claude-sonnet-4-5") == (
        "claude", "-p", "--output-format", "json", "--model", "claude-sonnet-4-5",
    )  # fmt: skip
    assert codex_argv() == ("codex", "exec", "-")
    assert json.dumps(list(codex_argv("gpt-5"))) == '["codex", "exec", "--model", "gpt-5", "-"]'
