"""The adapter interface: name, command line, how the prompt travels, how stdout becomes a result."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel


class PromptVia(StrEnum):
    STDIN = "stdin"
    ARGUMENT = "argument"  # the argv template's {prompt}
    FILE = "file"  # the argv template's {prompt_file}, and $PAID_PROMPT_FILE


class AgentResult(BaseModel):
    """What an agent reports about its run; usage stays None when the tool does not say."""

    summary: str
    is_error: bool = False
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    turns: int | None = None
    session_id: str | None = None


OutputParser = Callable[[str, int], AgentResult]
"""(stdout, exit code) -> result."""


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    stdin: bytes | None
    env: dict[str, str]


@dataclass(frozen=True)
class AgentAdapter:
    name: str
    argv_template: Sequence[str]
    prompt_via: frozenset[PromptVia]
    parse: OutputParser
    description: str = field(default="", compare=False)
    env: Mapping[str, str] = field(default_factory=dict)
    """The CLI's own switches that travel as variables (offline, no telemetry); never a credential."""
    agents_md_in_prompt: bool = True
    """False where the CLI reads the worktree's AGENTS.md itself (or calls no model); else the host
    adds the base commit's AGENTS.md to the prompt (instructions.py)."""

    def invocation(self, prompt: str, prompt_file: Path) -> Invocation:
        """The prompt is always written to `prompt_file`; the template decides where else it goes."""
        replacements = {"{prompt_file}": str(prompt_file)}
        if PromptVia.ARGUMENT in self.prompt_via:
            replacements["{prompt}"] = prompt
        argv = [_substitute(arg, replacements) for arg in self.argv_template]
        env = dict(self.env)
        if PromptVia.FILE in self.prompt_via:
            env["PAID_PROMPT_FILE"] = str(prompt_file)
        stdin = prompt.encode() if PromptVia.STDIN in self.prompt_via else None
        return Invocation(argv=argv, stdin=stdin, env=env)


def _substitute(arg: str, replacements: dict[str, str]) -> str:
    # Plain replacement rather than str.format: templates and prompts may contain braces.
    for placeholder, value in replacements.items():
        arg = arg.replace(placeholder, value)
    return arg
