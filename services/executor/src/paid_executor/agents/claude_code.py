"""Claude Code in print mode: `claude -p <prompt> --output-format json --permission-mode acceptEdits`."""

from __future__ import annotations

from paid_executor.agents.base import AgentAdapter, PromptVia
from paid_executor.agents.output import parse_json_result


def claude_code_adapter(*, model: str | None = None, executable: str = "claude") -> AgentAdapter:
    argv = [executable, "-p", "{prompt}", "--output-format", "json", "--permission-mode", "acceptEdits"]
    if model:
        argv += ["--model", model]
    return AgentAdapter(
        name="claude",
        argv_template=tuple(argv),
        prompt_via=frozenset({PromptVia.ARGUMENT}),
        parse=parse_json_result,
        description="Claude Code",
    )
