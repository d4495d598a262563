"""Agent adapters run for real: a fake `claude` on PATH, and the demo agent in a real git repository."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from paid_executor.activities.agent import agent_env
from paid_executor.agents.process import ProcessOutcome, run_agent_process
from paid_executor.agents.registry import adapter_for
from paid_executor.config import ExecutorSettings
from paid_executor.workspace import Identity

from .conftest import FIX_DIFF, FIXED_CALC, git

CLAUDE_RESULT = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "duration_ms": 8123,
    "duration_api_ms": 7410,
    "num_turns": 4,
    "result": "Fixed add() in calc.py.",
    "session_id": "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9",
    "total_cost_usd": 0.04821,
    "usage": {
        "input_tokens": 12,
        "cache_creation_input_tokens": 1500,
        "cache_read_input_tokens": 9000,
        "output_tokens": 240,
        "server_tool_use": {"web_search_requests": 0},
        "service_tier": "standard",
    },
    "permission_denials": [],
    "uuid": "5a6b7c8d-0000-4000-8000-000000000000",
}

FAKE_CLAUDE = """\
#!{python}
import json, pathlib, sys
expected = ["-p", pathlib.Path({prompt_copy!r}).read_text(), "--output-format", "json",
            "--permission-mode", "acceptEdits", "--model", "claude-test-model"]
if sys.argv[1:] != expected:
    print("unexpected argv: " + json.dumps(sys.argv[1:]), file=sys.stderr)
    sys.exit(3)
pathlib.Path("calc.py").write_text({fixed!r})
print({result!r})
"""


def settings(tmp_path: Path, **overrides: object) -> ExecutorSettings:
    return ExecutorSettings(workspace_root=tmp_path / "workspaces", **overrides)  # type: ignore[arg-type]


async def run(agent: str, prompt: str, cwd: Path, config: ExecutorSettings) -> tuple[ProcessOutcome, Path]:
    adapter = adapter_for(agent, config)
    prompt_file = cwd.parent / "prompt.md"
    prompt_file.write_text(prompt)
    outcome = await run_agent_process(
        adapter.invocation(prompt, prompt_file),
        cwd=cwd,
        base_env=agent_env(Identity("Paid", "paid@localhost")),
        timeout=60,
        pgid_file=cwd.parent / "agent.pgid",
        on_progress=lambda _line: None,
    )
    return outcome, prompt_file


async def test_claude_code_adapter_passes_the_prompt_and_reads_usage_and_cost(
    repo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompt = "Resolve issue #1: add() subtracts.\nQuote ' and \" and {braces} survive."
    prompt_copy = tmp_path / "expected-prompt.txt"
    prompt_copy.write_text(prompt)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "claude"
    fake.write_text(
        FAKE_CLAUDE.format(
            python=sys.executable,
            prompt_copy=str(prompt_copy),
            fixed=FIXED_CALC,
            result=json.dumps(CLAUDE_RESULT),
        )
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config = settings(tmp_path, agent="claude", agent_model="claude-test-model")

    outcome, _ = await run("claude", prompt, repo_dir, config)
    result = adapter_for("claude", config).parse(outcome.stdout, outcome.exit_code)

    assert outcome.exit_code == 0, outcome.stderr
    assert not result.is_error
    assert result.summary == "Fixed add() in calc.py."
    assert result.input_tokens == 12 + 1500 + 9000
    assert result.output_tokens == 240
    assert result.cost_usd == pytest.approx(0.04821)
    assert result.turns == 4
    assert result.session_id == CLAUDE_RESULT["session_id"]
    assert (repo_dir / "calc.py").read_text() == FIXED_CALC


def test_claude_code_error_result_is_an_error() -> None:
    adapter = adapter_for("claude", ExecutorSettings())
    stdout = json.dumps(CLAUDE_RESULT | {"subtype": "error_max_turns", "is_error": True, "result": ""})

    result = adapter.parse(stdout, 1)

    assert result.is_error
    assert "error_max_turns" in result.summary
    assert result.cost_usd == pytest.approx(0.04821)


async def test_demo_agent_applies_the_diff_in_the_prompt(repo_dir: Path, tmp_path: Path) -> None:
    prompt = f"Issue #1\r\n\r\n```diff\r\n{FIX_DIFF}```\r\n".replace("\n", "\r\n").replace("\r\r", "\r")

    outcome, _ = await run("demo", prompt, repo_dir, settings(tmp_path))
    result = adapter_for("demo", settings(tmp_path)).parse(outcome.stdout, outcome.exit_code)

    assert outcome.exit_code == 0, outcome.stderr
    assert (repo_dir / "calc.py").read_text() == FIXED_CALC
    assert not result.is_error
    assert "demo agent" in result.summary
    assert "calc.py" in result.summary
    assert (result.input_tokens, result.output_tokens, result.cost_usd) == (0, 0, 0.0)
    assert git(repo_dir, "status", "--porcelain").split() == ["M", "calc.py"]


async def test_command_adapter_substitutes_the_prompt_file(repo_dir: Path, tmp_path: Path) -> None:
    script = "import os, sys; print(open(sys.argv[1]).read() == open(os.environ['PAID_PROMPT_FILE']).read())"
    config = settings(
        tmp_path, agent="command", agent_command=f'{sys.executable} -c "{script}" {{prompt_file}}'
    )

    outcome, _ = await run("command", "the prompt", repo_dir, config)
    result = adapter_for("command", config).parse(outcome.stdout, outcome.exit_code)

    assert outcome.exit_code == 0, outcome.stderr
    assert result.summary == "True"
    assert result.input_tokens is None
    assert result.cost_usd is None


async def test_demo_agent_without_a_diff_fails_clearly(repo_dir: Path, tmp_path: Path) -> None:
    outcome, _ = await run("demo", "Please fix add(), it subtracts.", repo_dir, settings(tmp_path))
    result = adapter_for("demo", settings(tmp_path)).parse(outcome.stdout, outcome.exit_code)

    assert outcome.exit_code != 0
    assert result.is_error
    assert "no ```diff block" in result.summary
    assert "no ```diff block" in outcome.stderr
    assert git(repo_dir, "status", "--porcelain") == ""


async def test_demo_agent_with_a_diff_that_does_not_apply_fails_clearly(
    repo_dir: Path, tmp_path: Path
) -> None:
    stale = FIX_DIFF.replace("-    return a - b", "-    return a * b")
    outcome, _ = await run("demo", f"```diff\n{stale}```\n", repo_dir, settings(tmp_path))
    result = adapter_for("demo", settings(tmp_path)).parse(outcome.stdout, outcome.exit_code)

    assert outcome.exit_code != 0
    assert result.is_error
    assert "does not apply" in result.summary
    assert git(repo_dir, "status", "--porcelain") == ""


def test_agent_env_carries_no_paid_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAID_EXECUTOR_GITHUB_TOKEN", "ghs_secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret")

    env = agent_env(Identity("Paid", "paid@localhost"))

    assert "ghs_secret" not in env.values()
    assert env["GIT_AUTHOR_NAME"] == "Paid"
