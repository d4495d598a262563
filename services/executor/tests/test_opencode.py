"""The real opencode (from npm, pinned in tests/claude_code/package.json) as the run's agent, sandboxed
by bubblewrap, talking only to the executor's metering proxy in front of the LLM emulator's streamed
OpenAI-compatible chat endpoint, with its tool calls scripted."""

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
OPENCODE = AGENTS_HOME / "node_modules" / ".bin" / "opencode"
REAL_KEY = "sk-real-key-the-agent-never-sees"
TITLE = {"input_tokens": 50, "output_tokens": 3}
STEP = {"input_tokens": 1000, "output_tokens": 20}

pytestmark = [
    requires_cli(OPENCODE, "needs opencode from npm: `npm install` in services/executor/tests/claude_code"),
    pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed"),
]


def script_opencode(llm: LLMEmulator, *calls: EmulatedToolCall) -> None:
    """opencode asks for a session title first, then runs one scripted tool call per step."""
    llm.reply("Fix add()", system_contains="title generator", **TITLE)
    for call in calls:
        llm.reply(tool_calls=(call,), times=1, tool=call.name, **STEP)
    llm.reply("Done.", **STEP)


def metered_tokens(llm: LLMEmulator) -> int:
    titles = sum(1 for request in llm.requests if "title generator" in request.system)
    steps = len(llm.requests) - titles
    return titles * sum(TITLE.values()) + steps * sum(STEP.values())


async def run_opencode(
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
        "agent": "opencode",
        "opencode_executable": str(OPENCODE.resolve()),
        "sandbox_read_only": [AGENTS_HOME.resolve()],
        "openai_base_url": llm.url,
        "openai_api_key": REAL_KEY,
    }
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", **settings) as worker:
        request = loop_request(repo_ref, agent="opencode", sandbox="bwrap", **overrides)
        run_id = await start_execution(env.client, request, task_queue=worker.task_queue)
        return await env.client.get_workflow_handle_for(
            AgentExecutionWorkflow.run, workflow_id_for(request.issue), run_id=run_id
        ).result()


async def test_opencode_fixes_the_issue_in_the_sandbox_through_the_proxy(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gpt-4o\n")
    with LLMEmulator() as llm:
        script_opencode(
            llm,
            EmulatedToolCall(name="read", arguments={"filePath": "calc.py"}),
            EmulatedToolCall(
                name="edit",
                arguments={"filePath": "calc.py", "oldString": "return a - b", "newString": "return a + b"},
            ),
        )
        result = await run_opencode(env, emulator, engine, broker, tmp_path, llm, repo_ref)
        requests = llm.requests

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    assert emulator.file_content("alice", repo_ref.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    assert all(request.stream for request in requests)
    # Only the proxy holds the key: every call reaching the model went through it.
    assert all(request.headers.get("authorization") == f"Bearer {REAL_KEY}" for request in requests)
    body = only_comment(emulator, repo_ref)
    assert f"{metered_tokens(llm)} tokens" in body


async def test_opencode_cannot_write_outside_the_worktree(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    """opencode runs the commands the model asks for; in Paid's sandbox one writing beside the
    worktree lands nowhere on the host."""
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gpt-4o\nmax_iterations: 1\n")
    escape = "echo escaped > ../escape.txt; echo escaped > /tmp/escape.txt"
    with LLMEmulator() as llm:
        script_opencode(
            llm, EmulatedToolCall(name="bash", arguments={"command": escape, "description": "escape"})
        )
        result = await run_opencode(env, emulator, engine, broker, tmp_path, llm, repo_ref)
        tools_run = [
            message
            for request in llm.requests
            for message in request.body.get("messages", [])
            if message.get("role") == "tool"
        ]

    assert tools_run, "opencode never ran the command"
    assert result.outcome is not RunOutcome.SUCCEEDED
    assert not list(tmp_path.rglob("escape.txt"))
    assert not Path("/tmp/escape.txt").exists()


async def test_opencode_is_stopped_within_one_call_when_the_budget_is_spent(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gpt-4o\n")
    with LLMEmulator() as llm:
        llm.reply("Fix add()", system_contains="title generator", **TITLE)
        endless = EmulatedToolCall(name="read", arguments={"filePath": "calc.py"})
        llm.reply(tool_calls=(endless,), tool="read", **STEP)  # a model stuck in a loop
        result = await run_opencode(env, emulator, engine, broker, tmp_path, llm, repo_ref, max_tokens=2500)
        steps = [r for r in llm.requests if "title generator" not in r.system]
        tokens = metered_tokens(llm)

    assert result.outcome is RunOutcome.BUDGET_EXCEEDED
    assert len(steps) == 3  # 1020 tokens each: the third crosses 2500 and nothing follows it
    body = only_comment(emulator, repo_ref)
    assert "budget exceeded" in body
    assert f"{tokens} tokens" in body
