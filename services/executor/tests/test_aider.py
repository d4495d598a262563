"""The real Aider (from PyPI, pinned in tests/aider/requirements.txt) as the run's agent, sandboxed by
bubblewrap, talking only to the executor's metering proxy in front of the LLM emulator's
OpenAI-compatible chat endpoint."""

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
from paid_llm_emulator.server import LLMEmulator

from .agent_cli import requires_cli
from .conftest import FIXED_CALC
from .loop_support import loop_request, loop_worker
from .test_fix_forward import make_repo, only_comment

AIDER_HOME = Path(__file__).parent / "aider" / ".venv"
AIDER = AIDER_HOME / "bin" / "aider"

pytestmark = [
    requires_cli(AIDER, "needs Aider from PyPI (tests/aider/requirements.txt), which scripts/test installs"),
    pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed"),
]

# Aider's diff edit format, as gpt-4o answers in it: the file's name, then a SEARCH/REPLACE block.
FIX = (
    "calc.py\n```python\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n```\n"
)
ESCAPE = "../escape.py\n```python\n<<<<<<< SEARCH\n=======\nescaped = True\n>>>>>>> REPLACE\n```\n"
EDIT_USAGE = {"input_tokens": 1200, "output_tokens": 80, "cache_read_tokens": 200}
REAL_KEY = "sk-real-key-the-agent-never-sees"
COMMIT_USAGE = {"input_tokens": 300, "output_tokens": 7}


def aider_settings(llm: LLMEmulator) -> dict[str, Any]:
    return {
        "agent": "aider",
        "aider_executable": str(AIDER),
        "sandbox_read_only": [AIDER_HOME.resolve()],
        "openai_base_url": llm.url,
        "openai_api_key": REAL_KEY,
    }


def script_aider(llm: LLMEmulator, edit: str) -> None:
    # Aider writes its auto-commit's message with its weak model, which the adapter sets to the same.
    llm.reply("Fix add() to add", system_contains="commit message", **COMMIT_USAGE)
    llm.reply(edit, api="openai", **EDIT_USAGE)


def metered_tokens(llm: LLMEmulator) -> int:
    """What the emulator reported, call by call: the proxy must have recorded exactly this."""
    commits = sum(1 for request in llm.requests if "commit message" in request.system)
    edits = len(llm.requests) - commits
    return commits * (COMMIT_USAGE["input_tokens"] + COMMIT_USAGE["output_tokens"]) + edits * (
        EDIT_USAGE["input_tokens"] + EDIT_USAGE["output_tokens"]
    )


async def run_aider(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
    llm: LLMEmulator,
    repo_ref: RepoRef,
    **overrides: Any,
) -> ExecutionResult:
    settings = aider_settings(llm)
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", **settings) as worker:
        request = loop_request(repo_ref, agent="aider", sandbox="bwrap", **overrides)
        run_id = await start_execution(env.client, request, task_queue=worker.task_queue)
        return await env.client.get_workflow_handle_for(
            AgentExecutionWorkflow.run, workflow_id_for(request.issue), run_id=run_id
        ).result()


async def test_aider_fixes_the_issue_in_the_sandbox_through_the_proxy(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gpt-4o\n")
    with LLMEmulator() as llm:
        script_aider(llm, FIX)
        result = await run_aider(env, emulator, engine, broker, tmp_path, llm, repo_ref)
        requests = llm.requests

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    assert emulator.file_content("alice", repo_ref.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    # Only the proxy holds the key: every call reaching the model went through it.
    assert all(r.headers.get("authorization") == f"Bearer {REAL_KEY}" for r in requests)
    assert any("commit message" in r.system for r in requests), "Aider did not auto-commit"
    body = only_comment(emulator, repo_ref)
    assert f"{metered_tokens(llm)} tokens" in body


async def test_aider_cannot_write_outside_the_worktree(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    """Aider itself writes a file named `../escape.py` beside the repository (tried outside any
    sandbox); in Paid's sandbox the write lands nowhere on the host."""
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gpt-4o\nmax_iterations: 1\n")
    with LLMEmulator() as llm:
        script_aider(llm, ESCAPE)
        result = await run_aider(env, emulator, engine, broker, tmp_path, llm, repo_ref)
        edits = [r for r in llm.requests if "commit message" not in r.system]

    assert edits, "Aider never asked the model, so it never tried the write"
    assert result.outcome is not RunOutcome.SUCCEEDED
    assert not list(tmp_path.rglob("escape.py"))
    assert not Path("/tmp/escape.py").exists()


async def test_aider_is_stopped_within_one_call_when_the_budget_is_spent(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmodel: gpt-4o\n")
    with LLMEmulator() as llm:
        script_aider(llm, FIX)
        result = await run_aider(env, emulator, engine, broker, tmp_path, llm, repo_ref, max_tokens=1000)
        calls = len(llm.requests)

    assert result.outcome is RunOutcome.BUDGET_EXCEEDED
    assert calls == 1  # the edit's 1280 tokens cross 1000: not even the commit message follows
    body = only_comment(emulator, repo_ref)
    assert "budget exceeded" in body
    assert "1280 tokens" in body
