"""The real agent CLIs the executor's tests drive, each with its model scripted in its own protocol on
the LLM emulator: a fix of calc.py, a write beside the worktree, and a model stuck in a loop.

Every scripted model call reports fixed usage, so the tokens the proxy must have recorded follow from
the calls the emulator saw: `step_tokens` per step, `auxiliary_tokens` per auxiliary call (opencode's
session title, Aider's commit message), recognised by `auxiliary` in their system prompt."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from paid_executor.sandbox.bwrap import bwrap_path
from paid_llm_emulator.rules import Api, EmulatedToolCall, RecordedRequest
from paid_llm_emulator.server import LLMEmulator

from .agent_cli import requires_cli

NODE_CLIS = Path(__file__).parent / "claude_code"
AIDER_HOME = Path(__file__).parent / "aider" / ".venv"
REAL_KEY = "sk-real-key-the-agent-never-sees"
STEP = {"input_tokens": 1000, "output_tokens": 20, "cache_read_tokens": 100, "reasoning_tokens": 5}
STEP_TOKENS = 1020  # cache reads are part of the input, reasoning part of the output
FIX_COMMAND = "sed -i 's/a - b/a + b/' calc.py"
ESCAPE_COMMAND = "echo escaped > ../escape.txt; echo escaped > /tmp/escape.txt"

Script = Callable[[LLMEmulator], None]


@dataclass(frozen=True)
class CliCase:
    agent: str
    executable: Path
    install: str
    model: str
    settings: Callable[[str], dict[str, Any]]
    """The worker's settings, given the LLM emulator's URL: the CLI, its home, the real key."""
    holds_real_key: Callable[[RecordedRequest], bool]
    script_fix: Script
    script_escape: Script
    escape_file: str
    ran_the_tool: Callable[[Sequence[RecordedRequest]], bool]
    script_endless: Script
    budget: int
    steps_within_budget: int
    step_tokens: int
    api: Api
    streams: bool
    auxiliary: str | None = None
    auxiliary_tokens: int = 0
    commits_itself: bool = False

    def steps(self, requests: Sequence[RecordedRequest]) -> list[RecordedRequest]:
        return [r for r in requests if not self.auxiliary or self.auxiliary not in r.system]

    def metered_tokens(self, requests: Sequence[RecordedRequest]) -> int:
        steps = len(self.steps(requests))
        return steps * self.step_tokens + (len(requests) - steps) * self.auxiliary_tokens

    def param(self, *, heavy: bool = False) -> Any:
        marks = [pytest.mark.heavy] if heavy else []
        marks += [
            requires_cli(self.executable, f"needs {self.agent}: {self.install}"),
            pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed"),
        ]
        return pytest.param(self, id=self.agent, marks=marks)


def node_cli(name: str) -> Path:
    return NODE_CLIS / "node_modules" / ".bin" / name


NPM_INSTALL = "`npm install` in services/executor/tests/claude_code"


def openai_key(request: RecordedRequest) -> bool:
    return request.headers.get("authorization") == f"Bearer {REAL_KEY}"


def openai_settings(agent: str, executable: Path, home: Path) -> Callable[[str], dict[str, Any]]:
    return lambda url: {
        f"{agent}_executable": str(executable.resolve()),
        "sandbox_read_only": [home.resolve()],
        "openai_base_url": url,
        "openai_api_key": REAL_KEY,
    }


def one_command(api: Api, tool: str, argument: str) -> Callable[[str], Script]:
    """A model that runs one shell command through the CLI's shell tool, then says it is done."""

    def script(command: str) -> Script:
        def reply(llm: LLMEmulator) -> None:
            call = EmulatedToolCall(name=tool, arguments={argument: command})
            llm.reply(tool_calls=(call,), times=1, api=api, tool=tool, **STEP)
            llm.reply("Done.", api=api, **STEP)

        return reply

    return script


def endless(api: Api, call: EmulatedToolCall) -> Script:
    """A model stuck in a loop: the same tool call, for ever."""
    return lambda llm: llm.reply(tool_calls=(call,), api=api, tool=call.name, **STEP)


codex_command = one_command("responses", "exec_command", "cmd")
CODEX = CliCase(
    agent="codex",
    executable=node_cli("codex"),
    install=NPM_INSTALL,
    model="gpt-5",
    settings=openai_settings("codex", node_cli("codex"), NODE_CLIS),
    holds_real_key=openai_key,
    script_fix=codex_command(FIX_COMMAND),
    script_escape=codex_command(ESCAPE_COMMAND),
    escape_file="escape.txt",
    ran_the_tool=lambda requests: any(
        item.get("type") == "function_call_output" for r in requests for item in r.body.get("input", [])
    ),
    script_endless=endless(
        "responses", EmulatedToolCall(name="exec_command", arguments={"cmd": "cat calc.py"})
    ),
    budget=2500,
    steps_within_budget=3,  # 1020 tokens each: the third crosses 2500 and nothing follows it
    step_tokens=STEP_TOKENS,
    api="responses",
    streams=True,
)

gemini_command = one_command("gemini", "run_shell_command", "command")
GEMINI = CliCase(
    agent="gemini",
    executable=node_cli("gemini"),
    install=NPM_INSTALL,
    model="gemini-2.5-pro",
    settings=lambda url: {
        "gemini_executable": str(node_cli("gemini").resolve()),
        "sandbox_read_only": [NODE_CLIS.resolve()],
        "gemini_base_url": url,
        "gemini_api_key": REAL_KEY,
    },
    holds_real_key=lambda request: request.headers.get("x-goog-api-key") == REAL_KEY,
    script_fix=gemini_command(FIX_COMMAND),
    script_escape=gemini_command(ESCAPE_COMMAND),
    escape_file="escape.txt",
    ran_the_tool=lambda requests: any(
        "functionResponse" in part
        for r in requests
        for content in r.body.get("contents", [])
        for part in content.get("parts", [])
    ),
    script_endless=endless(
        "gemini", EmulatedToolCall(name="run_shell_command", arguments={"command": "cat calc.py"})
    ),
    budget=2500,
    steps_within_budget=3,
    step_tokens=STEP_TOKENS,
    api="gemini",
    streams=True,
)

OPENCODE_TITLE = {"input_tokens": 50, "output_tokens": 3}
OPENCODE_STEP = {"input_tokens": 1000, "output_tokens": 20}


def opencode_steps(*calls: EmulatedToolCall, done: bool = True) -> Script:
    """opencode asks for a session title first, then runs one scripted tool call per step."""

    def reply(llm: LLMEmulator) -> None:
        llm.reply("Fix add()", system_contains="title generator", **OPENCODE_TITLE)
        for call in calls:
            llm.reply(tool_calls=(call,), times=1 if done else None, tool=call.name, **OPENCODE_STEP)
        if done:
            llm.reply("Done.", **OPENCODE_STEP)

    return reply


OPENCODE = CliCase(
    agent="opencode",
    executable=node_cli("opencode"),
    install=NPM_INSTALL,
    model="gpt-4o",
    settings=openai_settings("opencode", node_cli("opencode"), NODE_CLIS),
    holds_real_key=openai_key,
    script_fix=opencode_steps(
        EmulatedToolCall(name="read", arguments={"filePath": "calc.py"}),
        EmulatedToolCall(
            name="edit",
            arguments={"filePath": "calc.py", "oldString": "return a - b", "newString": "return a + b"},
        ),
    ),
    script_escape=opencode_steps(
        EmulatedToolCall(name="bash", arguments={"command": ESCAPE_COMMAND, "description": "escape"})
    ),
    escape_file="escape.txt",
    ran_the_tool=lambda requests: any(
        message.get("role") == "tool" for r in requests for message in r.body.get("messages", [])
    ),
    script_endless=opencode_steps(
        EmulatedToolCall(name="read", arguments={"filePath": "calc.py"}), done=False
    ),
    budget=2500,
    steps_within_budget=3,
    step_tokens=sum(OPENCODE_STEP.values()),
    api="openai",
    streams=True,
    auxiliary="title generator",
    auxiliary_tokens=sum(OPENCODE_TITLE.values()),
)

# Aider's diff edit format, as gpt-4o answers in it: the file's name, then a SEARCH/REPLACE block.
AIDER_FIX = (
    "calc.py\n```python\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n```\n"
)
# Aider itself writes a file named `../escape.py` beside the repository (tried outside any sandbox).
AIDER_ESCAPE = "../escape.py\n```python\n<<<<<<< SEARCH\n=======\nescaped = True\n>>>>>>> REPLACE\n```\n"
AIDER_EDIT = {"input_tokens": 1200, "output_tokens": 80, "cache_read_tokens": 200}
AIDER_COMMIT = {"input_tokens": 300, "output_tokens": 7}


def aider_edit(edit: str) -> Script:
    def reply(llm: LLMEmulator) -> None:
        # Aider writes its auto-commit's message with its weak model, which the adapter sets to the same.
        llm.reply("Fix add() to add", system_contains="commit message", **AIDER_COMMIT)
        llm.reply(edit, api="openai", **AIDER_EDIT)

    return reply


AIDER = CliCase(
    agent="aider",
    executable=AIDER_HOME / "bin" / "aider",
    install="Aider from PyPI (tests/aider/requirements.txt), which scripts/test installs",
    model="gpt-4o",
    settings=lambda url: {
        "aider_executable": str(AIDER_HOME / "bin" / "aider"),
        "sandbox_read_only": [AIDER_HOME.resolve()],
        "openai_base_url": url,
        "openai_api_key": REAL_KEY,
    },
    holds_real_key=openai_key,
    script_fix=aider_edit(AIDER_FIX),
    script_escape=aider_edit(AIDER_ESCAPE),
    escape_file="escape.py",
    ran_the_tool=lambda requests: any("commit message" not in r.system for r in requests),
    script_endless=aider_edit(AIDER_FIX),
    budget=1000,
    steps_within_budget=1,  # the edit's 1280 tokens cross 1000: not even the commit message follows
    step_tokens=1280,  # 1200 in (200 of them cached) + 80 out
    api="openai",
    streams=False,  # --no-stream
    auxiliary="commit message",
    auxiliary_tokens=sum(AIDER_COMMIT.values()),
    commits_itself=True,
)

CLI_CASES = (CODEX, GEMINI, OPENCODE, AIDER)
