"""`paid-demo-agent`: a deterministic stand-in for a coding agent, for the offline demo.

It reads the prompt (from $PAID_PROMPT_FILE, else stdin), takes every fenced ```diff block in it,
applies them with `git apply` in the current directory, and prints one JSON result object shaped
like `claude -p --output-format json`. It makes no other change and calls no model.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

NAME = "paid-demo-agent"
DIFF_BLOCK = re.compile(r"^[ \t]*```diff[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.DOTALL | re.MULTILINE)


class DemoAgentError(Exception):
    pass


def read_prompt() -> str:
    if prompt_file := os.environ.get("PAID_PROMPT_FILE"):
        return Path(prompt_file).read_text()
    return sys.stdin.read()


def extract_diffs(prompt: str) -> list[str]:
    # Issue bodies typed in a browser arrive with CRLF line ends; git apply wants the file's own (LF).
    text = prompt.replace("\r\n", "\n")
    return [block if block.endswith("\n") else block + "\n" for block in DIFF_BLOCK.findall(text)]


def apply_diffs(diffs: list[str], cwd: Path) -> list[str]:
    """Applies every diff or none; returns the paths they touch."""
    if not diffs:
        raise DemoAgentError(
            "the demo agent found no ```diff block in the prompt; it only applies unified diffs "
            "given in the issue (use a real agent for anything else)"
        )
    pending: list[str] = []
    for index, diff in enumerate(diffs, start=1):
        check = _git_apply(diff, cwd, "--check")
        if check.returncode == 0:
            pending.append(diff)
        elif _git_apply(diff, cwd, "--check", "--reverse").returncode != 0:
            raise DemoAgentError(f"diff {index} of {len(diffs)} does not apply: {check.stderr.strip()}")
        # else: applied by an earlier iteration of the same run; nothing to do
    touched: list[str] = []
    for diff in pending:
        result = _git_apply(diff, cwd)
        if result.returncode != 0:
            raise DemoAgentError(f"git apply failed: {result.stderr.strip()}")
        touched += _git_apply(diff, cwd, "--numstat", "--summary").stdout.splitlines()
    return sorted({line.split("\t")[-1] for line in touched if "\t" in line})


def _git_apply(diff: str, cwd: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "apply", "--whitespace=nowarn", *flags, "-"],
        input=diff,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def result_object(*, summary: str, is_error: bool) -> dict[str, object]:
    return {
        "type": "result",
        "subtype": "error_during_execution" if is_error else "success",
        "is_error": is_error,
        "result": summary,
        "num_turns": 1,
        "total_cost_usd": 0.0,
        "usage": {"input_tokens": 0, "output_tokens": 0},
        "agent": NAME,
    }


def main() -> None:
    try:
        files = apply_diffs(extract_diffs(read_prompt()), Path.cwd())
    except (DemoAgentError, OSError) as error:
        print(f"{NAME}: {error}", file=sys.stderr)
        print(json.dumps(result_object(summary=f"The demo agent made no change: {error}", is_error=True)))
        sys.exit(1)
    summary = (
        f"The demo agent ({NAME}) made this change: it applied the diff given in the issue "
        f"to {len(files)} file(s): {', '.join(files)}. No model was called."
    )
    print(json.dumps(result_object(summary=summary, is_error=False)))


if __name__ == "__main__":
    main()
