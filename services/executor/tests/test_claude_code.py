"""The real Claude Code CLI (from npm, pinned in tests/claude_code/package.json) as the run's agent,
sandboxed by bubblewrap, talking only to the executor's metering proxy in front of a scripted
Anthropic-style endpoint; in the heavy suite, the same runs in the docker sandbox."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from paid_contracts import RunOutcome
from paid_executor.sandbox.bwrap import bwrap_path

from .agent_cli import requires_cli
from .agent_runs import Servers, run_agent
from .conftest import FIXED_CALC
from .instruction_files import AGENTS_MD_MARKER, add_agents_md, shown
from .loop_support import ScriptedAnthropic
from .test_agent_clis_docker import DOCKER_CHECK, DOCKER_MARKS, in_docker
from .test_fix_forward import make_repo, only_comment

CLAUDE_HOME = Path(__file__).parent / "claude_code"
CLAUDE = CLAUDE_HOME / "node_modules" / ".bin" / "claude"
SANDBOXES = [
    pytest.param("bwrap", id="bwrap"),
    pytest.param("docker", id="docker", marks=[pytest.mark.heavy, *DOCKER_MARKS]),
]

pytestmark = [
    requires_cli(CLAUDE, "needs Claude Code from npm: `npm install` in services/executor/tests/claude_code"),
    pytest.mark.skipif(bwrap_path() is None, reason="needs bubblewrap (bwrap), not installed"),
]


def working_directory(request: dict[str, Any]) -> str:
    system = request.get("system") or ""
    text = system if isinstance(system, str) else " ".join(block.get("text", "") for block in system)
    match = re.search(r"[Ww]orking directory: ([^\s\\]+)", text + json.dumps(request.get("messages", [])))
    assert match, "Claude Code did not say where it works"
    return match.group(1)


def tool_results(request: dict[str, Any]) -> int:
    return sum(
        1
        for message in request.get("messages", [])
        if isinstance(message.get("content"), list)
        for block in message["content"]
        if block.get("type") == "tool_result"
    )


def fixing_model(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Read calc.py, then write the fix, then say so: what a model would answer, scripted."""
    calc = f"{working_directory(request)}/calc.py"
    done = tool_results(request)
    if done == 0:
        return [
            {
                "type": "tool_use",
                "id": f"toolu_{uuid.uuid4().hex[:8]}",
                "name": "Read",
                "input": {"file_path": calc},
            }
        ]
    if done == 1:
        return [
            {
                "type": "tool_use",
                "id": f"toolu_{uuid.uuid4().hex[:8]}",
                "name": "Write",
                "input": {"file_path": calc, "content": FIXED_CALC},
            }
        ]
    return [{"type": "text", "text": "Fixed add() to add."}]


def endless_model(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Keeps reading forever, as a model stuck in a loop would."""
    calc = f"{working_directory(request)}/calc.py"
    return [
        {
            "type": "tool_use",
            "id": f"toolu_{uuid.uuid4().hex[:8]}",
            "name": "Read",
            "input": {"file_path": calc},
        }
    ]


def claude_settings(upstream: ScriptedAnthropic, sandbox: str) -> dict[str, Any]:
    settings = {
        "claude_executable": str(CLAUDE.resolve()),
        "sandbox_read_only": [CLAUDE_HOME.resolve()],
        "anthropic_base_url": upstream.url,
        "anthropic_api_key": "sk-ant-real-key-the-agent-never-sees",
    }
    return in_docker(settings) if sandbox == "docker" else settings


def check(sandbox: str) -> str:
    return DOCKER_CHECK if sandbox == "docker" else "python -m pytest -q"


@pytest.mark.parametrize("sandbox", SANDBOXES)
async def test_claude_code_fixes_the_issue_in_the_sandbox_through_the_proxy(
    servers: Servers, sandbox: str
) -> None:
    emulator = servers.emulator
    repo_ref = make_repo(emulator, f"test: {check(sandbox)}\nmodel: claude-sonnet-4-5\n")
    add_agents_md(emulator, repo_ref)
    requests: list[dict[str, Any]] = []

    def recorded(request: dict[str, Any]) -> list[dict[str, Any]]:
        requests.append(request)
        return fixing_model(request)

    with ScriptedAnthropic(respond=recorded) as upstream:
        result = await run_agent(
            servers, repo_ref, "claude", claude_settings(upstream, sandbox), sandbox=sandbox
        )

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    assert emulator.file_content("alice", repo_ref.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    (pull,) = emulator.pulls("alice", repo_ref.name)
    assert pull["head"]["ref"] == "paid/issue-1"  # the fix lands in a PR
    assert upstream.calls >= 3
    body = only_comment(emulator, repo_ref)
    assert f"{upstream.calls * 1500} tokens" in body  # metered by the proxy, call by call
    assert shown(AGENTS_MD_MARKER, requests), "Claude Code reads CLAUDE.md: Paid's prompt carries AGENTS.md"


@pytest.mark.heavy  # the short form of a budget stop by a real CLI is Codex's, in test_agent_clis.py
@pytest.mark.parametrize("sandbox", SANDBOXES)
async def test_claude_code_is_stopped_when_the_budget_is_spent(servers: Servers, sandbox: str) -> None:
    emulator = servers.emulator
    repo_ref = make_repo(emulator, f"test: {check(sandbox)}\n")
    with ScriptedAnthropic(respond=endless_model) as upstream:
        result = await run_agent(
            servers, repo_ref, "claude", claude_settings(upstream, sandbox), sandbox=sandbox, max_tokens=4000
        )

    assert result.outcome is RunOutcome.BUDGET_EXCEEDED
    assert upstream.calls == 3  # 1500 tokens each: the third crosses 4000 and nothing follows it
    body = only_comment(emulator, repo_ref)
    assert "budget exceeded" in body
    assert "4500 tokens" in body
