"""Codex, non-interactive: `codex exec --json`, on a provider `paid` speaking the Responses API.

Codex reads its provider's base URL from its configuration, not from OPENAI_BASE_URL, so a shell
puts the launch's $OPENAI_BASE_URL (the metering proxy) into a `-c` override; the key is named by
`env_key`, so Codex reads the run token from OPENAI_API_KEY. Codex's own sandbox (bubblewrap,
seccomp) cannot nest in Paid's and is switched off: Paid's sandbox is the boundary.
"""

from __future__ import annotations

import shlex
from typing import Any

from paid_executor.agents.base import AgentAdapter, AgentResult, PromptVia
from paid_executor.agents.events import count, json_lines, mapping
from paid_executor.agents.output import SUMMARY_LIMIT, parse_plain_text
from paid_executor.agents.shell import shell_argv

DEFAULT_MODEL = "gpt-5"
# Double-quoted for the shell, which expands $OPENAI_BASE_URL and nothing else in it.
PROVIDER = (
    '"model_providers.paid={name=\\"paid\\", base_url=\\"$OPENAI_BASE_URL\\", env_key=\\"OPENAI_API_KEY\\", '
    'wire_api=\\"responses\\", supports_websockets=false}"'
)
OFFLINE = ("check_for_update_on_startup=false", "analytics.enabled=false")


def codex_adapter(*, model: str | None = None, executable: str = "codex") -> AgentAdapter:
    flags = ["--json", "--skip-git-repo-check", "--sandbox", "danger-full-access"]
    for setting in ("model_provider=paid", *OFFLINE):
        flags += ["-c", setting]
    # The model, like the prompt, may come from the repository: an argument ("$2"), never script text.
    script = f'exec "$0" exec {shlex.join(flags)} -m "$2" -c {PROVIDER} -- "$1"'
    return AgentAdapter(
        name="codex",
        argv_template=shell_argv(script, executable, "{prompt}", model or DEFAULT_MODEL),
        prompt_via=frozenset({PromptVia.ARGUMENT}),
        parse=parse_codex_events,
        agents_md_in_prompt=False,  # read natively
        description="Codex",
    )


def parse_codex_events(stdout: str, exit_code: int) -> AgentResult:
    """`exec --json` prints one event a line: `item.completed` items (`agent_message` text), and
    `turn.completed` with the turn's usage (input including its cached part) or `turn.failed`."""
    events = json_lines(stdout)
    if not events:
        return parse_plain_text(stdout, exit_code)
    messages: list[str] = []
    failures: list[str] = []
    usages: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("type")
        item = mapping(event, "item")
        if (
            kind == "item.completed"
            and item.get("type") == "agent_message"
            and isinstance(item.get("text"), str)
        ):
            messages.append(item["text"])
        elif kind == "turn.completed":
            usages.append(mapping(event, "usage"))
        elif kind == "turn.failed":
            failures.append(str(mapping(event, "error").get("message", "the turn failed")))
    summary = "\n".join(messages[-3:] + failures) or f"codex ended with exit code {exit_code}"
    return AgentResult(
        summary=summary[-SUMMARY_LIMIT:],
        is_error=exit_code != 0 or bool(failures),
        input_tokens=sum(count(u, "input_tokens") for u in usages) if usages else None,
        output_tokens=sum(count(u, "output_tokens") for u in usages) if usages else None,
        turns=len(usages) or None,
        session_id=next((e["thread_id"] for e in events if isinstance(e.get("thread_id"), str)), None),
    )
