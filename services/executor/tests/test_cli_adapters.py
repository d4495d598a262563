"""The CLI adapters without their CLIs: command lines, offline switches and how their output is read."""

from __future__ import annotations

import json
from pathlib import Path

from paid_executor.agents.aider import parse_aider_output
from paid_executor.agents.codex import parse_codex_events
from paid_executor.agents.gemini_cli import parse_gemini_result
from paid_executor.agents.opencode import parse_opencode_events
from paid_executor.agents.registry import adapter_for
from paid_executor.config import ExecutorSettings

AIDER_OUTPUT = """Aider v0.86.2
Model: openai/gpt-4o with diff edit format
Tokens: 1200 sent, 80 received. Cost: $0.0038 message, $0.0038 session.
Applied edit to calc.py
Tokens: 300 sent, 7 received.
Commit 7c7b733 Fix add() to add
"""


def test_aider_runs_the_prompt_file_on_the_chosen_model_offline(tmp_path: Path) -> None:
    settings = ExecutorSettings(aider_executable="/opt/aider/bin/aider")
    prompt_file = tmp_path / "prompt.md"
    invocation = adapter_for("aider", settings, model="gpt-4o").invocation("fix add()", prompt_file)

    argv = invocation.argv
    assert argv[0] == "/opt/aider/bin/aider"
    assert argv[argv.index("--message-file") + 1] == str(prompt_file)
    assert argv[argv.index("--model") + 1] == "openai/gpt-4o"
    assert argv[argv.index("--weak-model") + 1] == "openai/gpt-4o"
    assert {"--yes-always", "--no-check-update", "--no-analytics", "--no-show-model-warnings"} <= set(argv)
    assert "fix add()" not in argv  # the prompt travels in its file only
    assert invocation.stdin is None
    assert invocation.env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert not any(key.endswith(("_API_KEY", "_BASE_URL")) for key in invocation.env)


def test_aider_keeps_a_provider_the_model_names() -> None:
    adapter = adapter_for("aider", ExecutorSettings(), model="anthropic/claude-sonnet-4-5")
    argv = adapter.invocation("x", Path("/p")).argv
    assert argv[argv.index("--model") + 1] == "anthropic/claude-sonnet-4-5"


def test_aider_output_sums_exact_token_lines() -> None:
    result = parse_aider_output(AIDER_OUTPUT, 0)
    assert (result.input_tokens, result.output_tokens, result.turns) == (1500, 87, 2)
    assert not result.is_error
    assert "Commit 7c7b733" in result.summary


def test_aider_abbreviated_counts_are_not_reported_as_exact() -> None:
    result = parse_aider_output("Tokens: 1.2k sent, 80 received.\n", 0)
    assert (result.input_tokens, result.output_tokens, result.turns) == (None, None, 1)


def test_aider_failure_is_an_error() -> None:
    assert parse_aider_output("litellm.AuthenticationError: bad key\n", 1).is_error


def test_opencode_runs_the_prompt_on_paids_provider_offline(tmp_path: Path) -> None:
    settings = ExecutorSettings(opencode_executable="/opt/opencode")
    invocation = adapter_for("opencode", settings, model="gpt-4o").invocation("fix add()", tmp_path / "p")

    assert invocation.argv == ["/opt/opencode", "run", "--format", "json", "-m", "paid/gpt-4o", "fix add()"]
    config = json.loads(invocation.env["OPENCODE_CONFIG_CONTENT"])
    options = config["provider"]["paid"]["options"]
    # The variables the launch points at the proxy, by name: the configuration holds no secret.
    assert options["baseURL"] == "{env:OPENAI_BASE_URL}"
    assert options["apiKey"] == "{env:OPENAI_API_KEY}"
    assert list(config["provider"]["paid"]["models"]) == ["gpt-4o"]
    assert config["permission"]["edit"] == "allow"
    assert invocation.env["OPENCODE_DISABLE_MODELS_FETCH"] == "true"
    assert invocation.env["OPENCODE_DISABLE_AUTOUPDATE"] == "true"


def _event(kind: str, **part: object) -> str:
    return json.dumps({"type": kind, "sessionID": "ses_1", "part": part})


def test_opencode_events_sum_the_steps_tokens_with_the_cache() -> None:
    stdout = "\n".join(
        [
            _event("step_start"),
            _event("step_finish", tokens={"input": 1000, "output": 20, "cache": {"read": 300, "write": 0}}),
            _event("text", text="Fixed add()."),
            _event("step_finish", tokens={"input": 1200, "output": 5, "cache": {"read": 0, "write": 50}}),
        ]
    )
    result = parse_opencode_events(stdout, 0)
    assert (result.input_tokens, result.output_tokens, result.turns) == (2550, 25, 2)
    assert result.summary == "Fixed add()."
    assert result.session_id == "ses_1"
    assert not result.is_error


def test_opencode_error_event_is_an_error() -> None:
    stdout = json.dumps({"type": "error", "error": {"name": "APIError", "data": {"message": "budget"}}})
    result = parse_opencode_events(stdout, 0)
    assert result.is_error
    assert "budget" in result.summary


def test_codex_takes_the_proxy_from_the_launch_and_runs_without_its_own_sandbox(tmp_path: Path) -> None:
    settings = ExecutorSettings(codex_executable="/opt/codex")
    hostile_model = "gpt-5'; touch /tmp/pwned; '"
    invocation = adapter_for("codex", settings, model=hostile_model).invocation(
        "fix `add()`; $HOME", tmp_path / "p"
    )

    shell, dash_c, script, executable, prompt, model = invocation.argv
    assert (shell, dash_c, executable, prompt) == ("sh", "-c", "/opt/codex", "fix `add()`; $HOME")
    assert model == hostile_model
    # The prompt and the model (both may come from the repository) are arguments, never script text.
    assert '-m "$2"' in script
    assert '-- "$1"' in script
    assert "pwned" not in script
    assert "--sandbox danger-full-access" in script
    assert 'base_url=\\"$OPENAI_BASE_URL\\"' in script
    assert 'env_key=\\"OPENAI_API_KEY\\"' in script
    assert "check_for_update_on_startup=false" in script
    assert not invocation.env


def test_codex_events_sum_the_turns_usage() -> None:
    events = [
        {"type": "thread.started", "thread_id": "th_1"},
        {"type": "item.completed", "item": {"type": "error", "message": "Model metadata not found"}},
        {"type": "item.completed", "item": {"type": "agent_message", "text": "Fixed add()."}},
        {
            "type": "turn.completed",
            "usage": {"input_tokens": 2200, "cached_input_tokens": 100, "output_tokens": 25},
        },
    ]
    result = parse_codex_events("\n".join(map(json.dumps, events)), 0)
    assert (result.input_tokens, result.output_tokens, result.turns) == (2200, 25, 1)
    assert result.summary == "Fixed add()."
    assert result.session_id == "th_1"
    assert not result.is_error


def test_codex_failed_turn_is_an_error() -> None:
    stdout = json.dumps({"type": "turn.failed", "error": {"message": "budget exceeded"}})
    result = parse_codex_events(stdout, 1)
    assert result.is_error
    assert "budget exceeded" in result.summary


def test_gemini_cli_gets_its_settings_and_prompt_as_arguments(tmp_path: Path) -> None:
    settings = ExecutorSettings(gemini_executable="/opt/gemini")
    invocation = adapter_for("gemini", settings, model="gemini-2.5-pro").invocation(
        "fix `add()`", tmp_path / "p"
    )

    shell, dash_c, script, executable, prompt, gemini_settings, model = invocation.argv
    assert (shell, dash_c, executable, prompt, model) == (
        "sh",
        "-c",
        "/opt/gemini",
        "fix `add()`",
        "gemini-2.5-pro",
    )
    assert '-p "$1"' in script
    assert "--approval-mode yolo" in script
    assert 'GEMINI_CLI_HOME="$home"' in script  # never the user's own ~/.gemini
    assert json.loads(gemini_settings)["security"]["auth"]["selectedType"] == "gemini-api-key"
    assert json.loads(gemini_settings)["privacy"]["usageStatisticsEnabled"] is False
    assert invocation.env == {"GEMINI_CLI_TRUST_WORKSPACE": "true"}


def test_gemini_result_sums_the_models_tokens() -> None:
    document = {
        "session_id": "s1",
        "response": "Fixed add().",
        "stats": {
            "models": {
                "gemini-2.5-pro": {
                    "api": {"totalRequests": 2},
                    "tokens": {
                        "prompt": 2200,
                        "candidates": 25,
                        "thoughts": 10,
                        "cached": 100,
                        "total": 2235,
                    },
                }
            }
        },
    }
    result = parse_gemini_result("Warning: 256-color support not detected.\n" + json.dumps(document), 0)
    assert (result.input_tokens, result.output_tokens, result.turns) == (2200, 35, 2)
    assert result.summary == "Fixed add()."
    assert not result.is_error


def test_gemini_error_is_an_error() -> None:
    stdout = json.dumps(
        {"session_id": "s1", "error": {"type": "Error", "message": "Invalid auth", "code": 41}}
    )
    result = parse_gemini_result(stdout, 41)
    assert result.is_error
    assert result.summary == "Invalid auth"
