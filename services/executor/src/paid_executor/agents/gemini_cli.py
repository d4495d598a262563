"""Gemini CLI, non-interactive: `gemini -p <prompt> --output-format json --approval-mode yolo`.

The CLI reads GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL, which the launch points at the metering
proxy and its run token. It takes its auth method only from a settings file, so a shell writes one
(no secret in it) into a fresh GEMINI_CLI_HOME, never the user's own ~/.gemini. `yolo` approves every
tool call: Gemini CLI's own sandbox is off (GEMINI_SANDBOX unset), and Paid's is the boundary.
"""

from __future__ import annotations

import json
from typing import Any

from paid_executor.agents.base import AgentAdapter, AgentResult, PromptVia
from paid_executor.agents.events import count, json_object, mapping
from paid_executor.agents.output import SUMMARY_LIMIT, parse_plain_text
from paid_executor.agents.shell import shell_argv

DEFAULT_MODEL = "gemini-2.5-pro"
SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "privacy": {"usageStatisticsEnabled": False},
    "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
    "telemetry": {"enabled": False},
    "context": {"fileName": ["AGENTS.md", "GEMINI.md"]},  # AGENTS.md too, natively
}
# "$1" the prompt, "$2" the settings, "$3" the model (see shell_argv).
SCRIPT = (
    'home="$(mktemp -d)" && mkdir "$home/.gemini" && printf "%s" "$2" > "$home/.gemini/settings.json" '
    '&& GEMINI_CLI_HOME="$home" "$0" -p "$1" --output-format json --approval-mode yolo -m "$3"; '
    'status=$?; rm -rf "$home"; exit "$status"'
)


def gemini_cli_adapter(*, model: str | None = None, executable: str = "gemini") -> AgentAdapter:
    chosen = model or DEFAULT_MODEL
    return AgentAdapter(
        name="gemini",
        argv_template=shell_argv(SCRIPT, executable, "{prompt}", json.dumps(SETTINGS), chosen),
        prompt_via=frozenset({PromptVia.ARGUMENT}),
        parse=parse_gemini_result,
        agents_md_in_prompt=False,  # read natively
        description="Gemini CLI",
        env={"GEMINI_CLI_TRUST_WORKSPACE": "true"},  # the worktree is the run's own
    )


def parse_gemini_result(stdout: str, exit_code: int) -> AgentResult:
    """`--output-format json` prints one object: `response`, `stats.models.<model>.api.totalRequests`
    and `.tokens` (prompt including cached, candidates, thoughts), or `error`."""
    document = _last_object(stdout)
    if document is None:
        return parse_plain_text(stdout, exit_code)
    error = mapping(document, "error")
    models = [m for m in mapping(mapping(document, "stats"), "models").values() if isinstance(m, dict)]
    tokens = [mapping(m, "tokens") for m in models]
    summary = str(
        document.get("response") or error.get("message") or f"gemini ended with exit code {exit_code}"
    )
    return AgentResult(
        summary=summary[:SUMMARY_LIMIT],
        is_error=exit_code != 0 or bool(error),
        input_tokens=sum(count(t, "prompt") for t in tokens) if tokens else None,
        output_tokens=sum(count(t, "candidates") + count(t, "thoughts") for t in tokens) if tokens else None,
        turns=sum(count(mapping(m, "api"), "totalRequests") for m in models) or None,
        session_id=document.get("session_id") if isinstance(document.get("session_id"), str) else None,
    )


def _last_object(stdout: str) -> dict[str, Any] | None:
    start = stdout.find("{")
    return json_object(stdout[start:]) if start >= 0 else None
