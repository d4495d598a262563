"""Any command-line agent: an argv template, the prompt on stdin, in a file and in $PAID_PROMPT_FILE."""

from __future__ import annotations

import shlex

from paid_executor.agents.base import AgentAdapter, PromptVia
from paid_executor.agents.output import parse_json_result


def command_adapter(
    template: str, *, name: str = "command", agents_md_in_prompt: bool = True
) -> AgentAdapter:
    argv = shlex.split(template)
    if not argv:
        raise ValueError("the command agent needs a command (PAID_EXECUTOR_AGENT_COMMAND)")
    return AgentAdapter(
        name=name,
        argv_template=tuple(argv),
        prompt_via=frozenset({PromptVia.STDIN, PromptVia.FILE, PromptVia.ARGUMENT}),
        parse=parse_json_result,
        description=f"runs `{template}`",
        agents_md_in_prompt=agents_md_in_prompt,
    )
