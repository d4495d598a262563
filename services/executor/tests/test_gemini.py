"""The real Gemini CLI (from npm, pinned in tests/claude_code/package.json) as the run's agent,
sandboxed by bubblewrap, talking only to the executor's metering proxy in front of the LLM emulator's
streamed Gemini API, with its function calls scripted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from paid_contracts import RepoRef, RunOutcome
from paid_executor.params import ExecutionResult
from paid_executor.sandbox.bwrap import bwrap_path
from paid_executor.subscribers import start_execution
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for
from paid_github_emulator.server import GitHubEmulator
from paid_llm_emulator.rules import EmulatedToolCall
from paid_llm_emulator.server import LLMEmulator

from .agent_cli import requires_cli
from .conftest import FIXED_CALC
from .loop_support import loop_request, loop_worker
from .test_fix_forward import make_repo, only_comment

AGENTS_HOME = Path(__file__).parent / "claude_code"
GEMINI = AGENTS_HOME / "node_modules" / ".bin" / "gemini"
REAL_KEY = "sk-real-key-the-agent-never-sees"
STEP = {"input_tokens": 1000, "output_tokens": 20, "cache_read_tokens": 100, "reasoning_tokens": 5}

pytestmark = [
    requires_cli(GEMINI, "needs Gemini CLI from npm: `npm install` in services/executor/tests/claude_code"),
    pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed"),
]


def script_gemini(llm: LLMEmulator, command: str) -> None:
    """One scripted shell command through Gemini CLI's `run_shell_command`, then a closing message."""
    call = EmulatedToolCall(name="run_shell_command", arguments={"command": command})
    llm.reply(tool_calls=(call,), times=1, api="gemini", tool="run_shell_command", **STEP)
    llm.reply("Done.", api="gemini", **STEP)


async def run_gemini(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
    llm: LLMEmulator,
    repo_ref: RepoRef,
    **overrides: Any,
) -> ExecutionResult:
    settings: dict[str, Any] = {
        "agent": "gemini",
        "gemini_executable": str(GEMINI.resolve()),
        "sandbox_read_only": [AGENTS_HOME.resolve()],
        "gemini_base_url": llm.url,
        "gemini_api_key": REAL_KEY,
    }
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", **settings) as worker:
        request = loop_request(repo_ref, agent="gemini", sandbox="bwrap", **overrides)
        run_id = await start_execution(env.client, request, task_queue=worker.task_queue)
        return await env.client.get_workflow_handle_for(
            AgentExecutionWorkflow.run, workflow_id_for(request.issue), run_id=run_id
        ).result()


async def test_gemini_fixes_the_issue_in_the_sandbox_through_the_proxy(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gemini-2.5-pro\n")
    with LLMEmulator() as llm:
        script_gemini(llm, "sed -i 's/a - b/a + b/' calc.py")
        result = await run_gemini(env, emulator, engine, broker, tmp_path, llm, repo_ref)
        requests = llm.requests

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    assert emulator.file_content("alice", repo_ref.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    assert requests
    assert all(request.api == "gemini" and request.stream for request in requests)
    # Only the proxy holds the key: every call reaching the model went through it.
    assert all(request.headers.get("x-goog-api-key") == REAL_KEY for request in requests)
    body = only_comment(emulator, repo_ref)
    tokens = len(requests) * (STEP["input_tokens"] + STEP["output_tokens"])
    assert f"{tokens} tokens" in body


async def test_gemini_cannot_write_outside_the_worktree(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    """Every tool call is approved (yolo); in Paid's sandbox a command writing beside the worktree
    lands nowhere."""
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gemini-2.5-pro\nmax_iterations: 1\n")
    with LLMEmulator() as llm:
        script_gemini(llm, "echo escaped > ../escape.txt; echo escaped > /tmp/escape.txt")
        result = await run_gemini(env, emulator, engine, broker, tmp_path, llm, repo_ref)
        outputs = [
            part
            for request in llm.requests
            for content in request.body.get("contents", [])
            for part in content.get("parts", [])
            if "functionResponse" in part
        ]

    assert outputs, "Gemini CLI never ran the command"
    assert result.outcome is not RunOutcome.SUCCEEDED
    assert not list(tmp_path.rglob("escape.txt"))
    assert not Path("/tmp/escape.txt").exists()


async def test_gemini_is_stopped_within_one_call_when_the_budget_is_spent(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gemini-2.5-pro\n")
    with LLMEmulator() as llm:
        endless = EmulatedToolCall(name="run_shell_command", arguments={"command": "cat calc.py"})
        llm.reply(tool_calls=(endless,), api="gemini", **STEP)  # a model stuck in a loop
        result = await run_gemini(env, emulator, engine, broker, tmp_path, llm, repo_ref, max_tokens=2500)
        calls = len(llm.requests)

    assert result.outcome is RunOutcome.BUDGET_EXCEEDED
    assert calls == 3  # 1020 tokens each: the third crosses 2500 and nothing follows it
    body = only_comment(emulator, repo_ref)
    assert "budget exceeded" in body
    assert "3060 tokens" in body
