"""The real Codex (from npm, pinned in tests/claude_code/package.json) as the run's agent, sandboxed by
bubblewrap, talking only to the executor's metering proxy in front of the LLM emulator's streamed
Responses API, with its tool calls scripted."""

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
CODEX = AGENTS_HOME / "node_modules" / ".bin" / "codex"
REAL_KEY = "sk-real-key-the-agent-never-sees"
STEP = {"input_tokens": 1000, "output_tokens": 20, "cache_read_tokens": 100, "reasoning_tokens": 5}

pytestmark = [
    requires_cli(CODEX, "needs Codex from npm: `npm install` in services/executor/tests/claude_code"),
    pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed"),
]


def script_codex(llm: LLMEmulator, command: str) -> None:
    """One scripted shell command through Codex's `exec_command` tool, then a closing message."""
    call = EmulatedToolCall(name="exec_command", arguments={"cmd": command})
    llm.reply(tool_calls=(call,), times=1, api="responses", tool="exec_command", **STEP)
    llm.reply("Done.", api="responses", **STEP)


async def run_codex(
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
        "agent": "codex",
        "codex_executable": str(CODEX.resolve()),
        "sandbox_read_only": [AGENTS_HOME.resolve()],
        "openai_base_url": llm.url,
        "openai_api_key": REAL_KEY,
    }
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", **settings) as worker:
        request = loop_request(repo_ref, agent="codex", sandbox="bwrap", **overrides)
        run_id = await start_execution(env.client, request, task_queue=worker.task_queue)
        return await env.client.get_workflow_handle_for(
            AgentExecutionWorkflow.run, workflow_id_for(request.issue), run_id=run_id
        ).result()


async def test_codex_fixes_the_issue_in_the_sandbox_through_the_proxy(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gpt-5\n")
    with LLMEmulator() as llm:
        script_codex(llm, "sed -i 's/a - b/a + b/' calc.py")
        result = await run_codex(env, emulator, engine, broker, tmp_path, llm, repo_ref)
        requests = llm.requests

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    assert emulator.file_content("alice", repo_ref.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    assert requests
    assert all(request.api == "responses" and request.stream for request in requests)
    # Only the proxy holds the key: every call reaching the model went through it.
    assert all(request.headers.get("authorization") == f"Bearer {REAL_KEY}" for request in requests)
    body = only_comment(emulator, repo_ref)
    tokens = len(requests) * (STEP["input_tokens"] + STEP["output_tokens"])
    assert f"{tokens} tokens" in body


async def test_codex_cannot_write_outside_the_worktree(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    """Codex's own sandbox is off; in Paid's, a command writing beside the worktree lands nowhere."""
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gpt-5\nmax_iterations: 1\n")
    with LLMEmulator() as llm:
        script_codex(llm, "echo escaped > ../escape.txt; echo escaped > /tmp/escape.txt")
        result = await run_codex(env, emulator, engine, broker, tmp_path, llm, repo_ref)
        outputs = [
            item
            for request in llm.requests
            for item in request.body.get("input", [])
            if item.get("type") == "function_call_output"
        ]

    assert outputs, "Codex never ran the command"
    assert result.outcome is not RunOutcome.SUCCEEDED
    assert not list(tmp_path.rglob("escape.txt"))
    assert not Path("/tmp/escape.txt").exists()


async def test_codex_is_stopped_within_one_call_when_the_budget_is_spent(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gpt-5\n")
    with LLMEmulator() as llm:
        endless = EmulatedToolCall(name="exec_command", arguments={"cmd": "cat calc.py"})
        llm.reply(tool_calls=(endless,), api="responses", **STEP)  # a model stuck in a loop
        result = await run_codex(env, emulator, engine, broker, tmp_path, llm, repo_ref, max_tokens=2500)
        calls = len(llm.requests)

    assert result.outcome is RunOutcome.BUDGET_EXCEEDED
    assert calls == 3  # 1020 tokens each: the third crosses 2500 and nothing follows it
    body = only_comment(emulator, repo_ref)
    assert "budget exceeded" in body
    assert "3060 tokens" in body
