"""Aider, non-interactive: `aider --message-file <prompt> --yes-always`, on an OpenAI-compatible endpoint.

Aider (through LiteLLM) reads OPENAI_BASE_URL and OPENAI_API_KEY, which the launch points at the
metering proxy and its run token. Aider has no sandbox of its own, so Paid's is the only boundary;
it commits its edits in the throw-away worktree repository, which the host imports like any other.
"""

from __future__ import annotations

import re

from paid_executor.agents.base import AgentAdapter, AgentResult, PromptVia
from paid_executor.agents.output import parse_plain_text

DEFAULT_MODEL = "gpt-4o"
# Aider prints "Tokens: 1.2k sent, 80 received." per message; only whole numbers are exact counts.
TOKENS_LINE = re.compile(r"^Tokens: (?P<sent>[\d.]+k?) sent, (?P<received>[\d.]+k?) received", re.MULTILINE)

OFFLINE_FLAGS = (
    "--no-check-update",
    "--no-show-release-notes",
    "--no-analytics",
    "--no-show-model-warnings",  # would otherwise look the model up in LiteLLM's online list
)
# History files would land in the worktree, and so in the PR; the repository map caches there too.
NO_WORKTREE_LITTER = (
    "--chat-history-file",
    "/dev/null",
    "--input-history-file",
    "/dev/null",
    "--map-tokens",
    "0",
)
NON_INTERACTIVE = ("--yes-always", "--no-pretty", "--no-fancy-input", "--no-stream", "--no-gitignore")


def aider_adapter(*, model: str | None = None, executable: str = "aider") -> AgentAdapter:
    litellm_model = _openai_compatible(model or DEFAULT_MODEL)
    argv = [
        executable,
        "--message-file",
        "{prompt_file}",
        "--model",
        litellm_model,
        "--weak-model",  # commit messages: the same model, not a second one Paid did not choose
        litellm_model,
        *NON_INTERACTIVE,
        *OFFLINE_FLAGS,
        *NO_WORKTREE_LITTER,
    ]
    return AgentAdapter(
        name="aider",
        argv_template=tuple(argv),
        prompt_via=frozenset({PromptVia.FILE}),
        parse=parse_aider_output,
        description="Aider",
        env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"},  # LiteLLM's bundled prices, not a download
    )


def _openai_compatible(model: str) -> str:
    """LiteLLM names the provider first; Paid's proxy speaks OpenAI's protocol to Aider."""
    return model if "/" in model else f"openai/{model}"


def parse_aider_output(stdout: str, exit_code: int) -> AgentResult:
    """Aider prints text; its token lines are summed when every count is exact."""
    result = parse_plain_text(stdout, exit_code)
    lines = list(TOKENS_LINE.finditer(stdout))
    counts = [(_exact(m["sent"]), _exact(m["received"])) for m in lines]
    if not counts or any(sent is None or received is None for sent, received in counts):
        return result.model_copy(update={"turns": len(lines) or None})
    return result.model_copy(
        update={
            "input_tokens": sum(sent or 0 for sent, _ in counts),
            "output_tokens": sum(received or 0 for _, received in counts),
            "turns": len(lines),
        }
    )


def _exact(count: str) -> int | None:
    return int(count) if count.isdigit() else None
