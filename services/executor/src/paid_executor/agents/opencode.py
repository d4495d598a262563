"""opencode, non-interactive: `opencode run --format json -m paid/<model> <prompt>`.

Its provider `paid` is OpenAI-compatible at $OPENAI_BASE_URL with $OPENAI_API_KEY, which the launch
points at the metering proxy and its run token; the configuration travels in OPENCODE_CONFIG_CONTENT
and names those variables, never their values. opencode has no sandbox of its own: Paid's is the
boundary, and its permissions allow edits and commands inside it.
"""

from __future__ import annotations

import json
from typing import Any

from paid_executor.agents.base import AgentAdapter, AgentResult, PromptVia
from paid_executor.agents.events import count, json_lines, mapping
from paid_executor.agents.output import SUMMARY_LIMIT, parse_plain_text

DEFAULT_MODEL = "gpt-4o"
PROVIDER = "paid"


def opencode_config(model: str) -> dict[str, Any]:
    return {
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "provider": {
            PROVIDER: {
                "npm": "@ai-sdk/openai-compatible",  # bundled in the binary: nothing is installed
                "name": "Paid",
                "options": {
                    "baseURL": "{env:OPENAI_BASE_URL}",
                    "apiKey": "{env:OPENAI_API_KEY}",
                    "includeUsage": True,  # usage in the stream, which the proxy meters
                },
                "models": {model: {"name": model}},
            }
        },
        "permission": {"edit": "allow", "bash": "allow", "webfetch": "deny"},
    }


def opencode_adapter(*, model: str | None = None, executable: str = "opencode") -> AgentAdapter:
    chosen = model or DEFAULT_MODEL
    return AgentAdapter(
        name="opencode",
        argv_template=(executable, "run", "--format", "json", "-m", f"{PROVIDER}/{chosen}", "{prompt}"),
        prompt_via=frozenset({PromptVia.ARGUMENT}),
        parse=parse_opencode_events,
        agents_md_in_prompt=False,  # read natively
        description="opencode",
        env={
            "OPENCODE_CONFIG_CONTENT": json.dumps(opencode_config(chosen)),
            "OPENCODE_DISABLE_MODELS_FETCH": "true",  # models.dev
            "OPENCODE_DISABLE_AUTOUPDATE": "true",
        },
    )


def parse_opencode_events(stdout: str, exit_code: int) -> AgentResult:
    """`--format json` prints one event a line: `text` parts, `step_finish` with the step's tokens
    (input without the cached part, which comes as cache.read and cache.write), `error`."""
    events = json_lines(stdout)
    if not events:
        return parse_plain_text(stdout, exit_code)
    texts: list[str] = []
    errors: list[str] = []
    steps: list[dict[str, Any]] = []
    for event in events:
        part = mapping(event, "part")
        kind = event.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "step_finish" and isinstance(part.get("tokens"), dict):
            steps.append(part["tokens"])
        elif kind == "error":
            errors.append(json.dumps(event.get("error", event))[:500])
    cache = [mapping(step, "cache") for step in steps]
    summary = "\n".join(texts[-3:] + errors) or f"opencode ended with exit code {exit_code}"
    return AgentResult(
        summary=summary[-SUMMARY_LIMIT:],
        is_error=exit_code != 0 or bool(errors),
        input_tokens=sum(count(s, "input") for s in steps)
        + sum(count(c, "read") + count(c, "write") for c in cache)
        if steps
        else None,
        output_tokens=sum(count(s, "output") for s in steps) if steps else None,
        turns=len(steps) or None,
        session_id=next((e["sessionID"] for e in events if isinstance(e.get("sessionID"), str)), None),
    )
