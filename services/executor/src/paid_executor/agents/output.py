"""Reading agents' stdout: the JSON result object Claude Code prints, or plain text."""

from __future__ import annotations

import json
from typing import Any

from paid_executor.agents.base import AgentResult
from paid_llm import anthropic_usage

SUMMARY_LIMIT = 4000
ANTHROPIC_INPUT_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def parse_json_result(stdout: str, exit_code: int) -> AgentResult:
    """`claude -p --output-format json` prints one object: type, subtype, is_error, result, num_turns,
    total_cost_usd, usage{input_tokens, output_tokens, ...}, session_id. Tools that print something
    else are read as plain text."""
    document = _last_json_object(stdout)
    if document is None:
        return parse_plain_text(stdout, exit_code)
    usage: dict[str, Any] = document["usage"] if isinstance(document.get("usage"), dict) else {}
    is_error = bool(document.get("is_error")) or exit_code != 0
    subtype = document.get("subtype")
    summary = str(document.get("result") or (f"agent ended with {subtype}" if subtype else ""))
    return AgentResult(
        summary=summary[:SUMMARY_LIMIT],
        is_error=is_error or (isinstance(subtype, str) and subtype.startswith("error")),
        input_tokens=_input_tokens(usage),
        output_tokens=_int_or_none(usage.get("output_tokens")),
        cost_usd=_float_or_none(document.get("total_cost_usd")),
        turns=_int_or_none(document.get("num_turns")),
        session_id=document.get("session_id") if isinstance(document.get("session_id"), str) else None,
    )


def parse_plain_text(stdout: str, exit_code: int) -> AgentResult:
    lines = [line for line in stdout.strip().splitlines() if line.strip()]
    return AgentResult(summary="\n".join(lines[-20:])[-SUMMARY_LIMIT:], is_error=exit_code != 0)


def _last_json_object(stdout: str) -> dict[str, Any] | None:
    text = stdout.strip()
    candidates = [text, *reversed(text.splitlines())]
    for candidate in candidates:
        candidate = candidate.strip()
        if not candidate.startswith("{"):
            continue
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _input_tokens(usage: dict[str, Any]) -> int | None:
    """Everything read, prompt-cache reads and writes included (paid_llm's reading of Anthropic usage);
    None when the agent reported no input count at all."""
    if all(_int_or_none(usage.get(key)) is None for key in ANTHROPIC_INPUT_KEYS):
        return None
    return anthropic_usage(usage).input_tokens


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
