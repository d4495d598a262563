"""Which adapter a configured agent name means."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from paid_executor.agents.aider import aider_adapter
from paid_executor.agents.base import AgentAdapter
from paid_executor.agents.claude_code import claude_code_adapter
from paid_executor.agents.codex import codex_adapter
from paid_executor.agents.command import command_adapter
from paid_executor.agents.gemini_cli import gemini_cli_adapter
from paid_executor.agents.opencode import opencode_adapter
from paid_executor.config import ExecutorSettings

DEMO_AGENT = "paid-demo-agent"


def adapter_for(agent: str, settings: ExecutorSettings, *, model: str | None = None) -> AgentAdapter:
    """`model` None: the configured model when `agent` is the configured agent (a model belongs to the
    agent it was chosen for), else the adapter's default."""
    if model is None and agent == settings.agent:
        model = settings.agent_model
    if agent == "demo":
        # The demo agent applies the diff and asks no model: the prompt stays the issue.
        return command_adapter(shlex.join(demo_agent_argv()), name="demo", agents_md_in_prompt=False)
    if agent == "claude":
        return claude_code_adapter(model=model, executable=settings.claude_executable)
    if agent == "aider":
        return aider_adapter(model=model, executable=settings.aider_executable)
    if agent == "opencode":
        return opencode_adapter(model=model, executable=settings.opencode_executable)
    if agent == "codex":
        return codex_adapter(model=model, executable=settings.codex_executable)
    if agent == "gemini":
        return gemini_cli_adapter(model=model, executable=settings.gemini_executable)
    if agent == "command":
        return command_adapter(settings.agent_command)
    raise ValueError(f"unknown agent {agent!r}")


def demo_agent_argv() -> list[str]:
    """The console script beside this interpreter (the worker's PATH need not include the venv)."""
    beside = Path(sys.executable).parent / DEMO_AGENT
    if beside.is_file():
        return [str(beside)]
    if on_path := shutil.which(DEMO_AGENT):
        return [on_path]
    return [sys.executable, "-m", "paid_executor.agents.demo_agent"]


def describe_agent(agent: str) -> str:
    """How PRs and comments name the agent that made the change."""
    return {
        "demo": f"the demo agent (`{DEMO_AGENT}`), which applies the diff given in the issue "
        "and calls no model",
        "claude": "Claude Code",
        "aider": "Aider",
        "opencode": "opencode",
        "codex": "Codex",
        "gemini": "Gemini CLI",
        "command": "the configured command-line agent",
    }.get(agent, f"the `{agent}` agent")
