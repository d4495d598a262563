"""Codex, non-interactive: `codex exec --json`, on a provider `paid` speaking the Responses API.

Codex reads its provider's base URL from its configuration, not from OPENAI_BASE_URL, so a shell
puts the launch's $OPENAI_BASE_URL (the metering proxy) into a `-c` override; the key is named by
`env_key`, so Codex reads the run token from OPENAI_API_KEY. Codex's own sandbox (bubblewrap,
seccomp) cannot nest in Paid's and is switched off: Paid's sandbox is the boundary.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from paid_executor.agents.base import AgentAdapter, AgentResult, PromptVia
from paid_executor.agents.output import SUMMARY_LIMIT, parse_plain_text

DEFAULT_MODEL = "gpt-5"
# Double-quoted for the shell, which expands $OPENAI_BASE_URL and nothing else in it.
PROVIDER = (
    '"model_providers.paid={name=\\"paid\\", base_url=\\"$OPENAI_BASE_URL\\", env_key=\\"OPENAI_API_KEY\\", '
    'wire_api=\\"responses\\", supports_websockets=false}"'
)
OFFLINE = ("check_for_update_on_startup=false", "analytics.enabled=false")


def codex_adapter(*, model: str | None = None, executable: str = "codex") -> AgentAdapter:
    flags = [
        "--json",
        "--skip-git-repo-check",
        "--sandbox",
        "danger-full-access",
        "-m",
        model or DEFAULT_MODEL,
    ]
    flags += ["-c", "model_provider=paid"]
    for setting in OFFLINE:
        flags += ["-c", setting]
    # "$0" is Codex and "$1" the prompt, both passed as arguments, never parsed by the shell.
    script = f'exec "$0" exec {shlex.join(flags)} -c {PROVIDER} -- "$1"'
    return AgentAdapter(
        name="codex",
        argv_template=("sh", "-c", script, executable, "{prompt}"),
        prompt_via=frozenset({PromptVia.ARGUMENT}),
        parse=parse_codex_events,
        description="Codex",
    )


def parse_codex_events(stdout: str, exit_code: int) -> AgentResult:
    """`exec --json` prints one event a line: `item.completed` items (`agent_message` text), and
    `turn.completed` with the turn's usage (input including its cached part) or `turn.failed`."""
    events = [event for event in map(_json_object, stdout.splitlines()) if event is not None]
    if not events:
        return parse_plain_text(stdout, exit_code)
    messages: list[str] = []
    failures: list[str] = []
    usages: list[dict[str, Any]] = []
    for event in events:
        kind = event.get("type")
        item = _mapping(event, "item")
        if (
            kind == "item.completed"
            and item.get("type") == "agent_message"
            and isinstance(item.get("text"), str)
        ):
            messages.append(item["text"])
        elif kind == "turn.completed":
            usages.append(_mapping(event, "usage"))
        elif kind == "turn.failed":
            failures.append(str(_mapping(event, "error").get("message", "the turn failed")))
    summary = "\n".join(messages[-3:] + failures) or f"codex ended with exit code {exit_code}"
    return AgentResult(
        summary=summary[-SUMMARY_LIMIT:],
        is_error=exit_code != 0 or bool(failures),
        input_tokens=sum(_count(u, "input_tokens") for u in usages) if usages else None,
        output_tokens=sum(_count(u, "output_tokens") for u in usages) if usages else None,
        turns=len(usages) or None,
        session_id=next((e["thread_id"] for e in events if isinstance(e.get("thread_id"), str)), None),
    )


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _mapping(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def _count(mapping: dict[str, Any], key: str) -> int:
    value = mapping.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
