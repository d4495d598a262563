"""The real agent CLIs (Codex, Gemini CLI, opencode, Aider) as the run's agent, sandboxed by bubblewrap,
talking only to the executor's metering proxy in front of the LLM emulator, which speaks each one's
protocol with its tool calls scripted (see cli_cases.py).

The default run drives each CLI once, through a real fix. The escapes and the budgets, a run each,
are the heavy suite's (scripts/test-heavy), but for Codex's budget, the quickest, kept as the short
form; tests/test_sandbox_escapes.py keeps the sandbox's own escapes in the default run."""

from __future__ import annotations

from pathlib import Path

import pytest

from paid_contracts import RepoRef, RunOutcome
from paid_llm_emulator.server import LLMEmulator

from .agent_runs import Servers, run_agent
from .cli_cases import CLI_CASES, CliCase
from .conftest import FIXED_CALC
from .instruction_files import AGENTS_MD_MARKER, LINKED_MARKER, add_agents_md, link_agents_md, shown
from .test_fix_forward import make_repo, only_comment


def cases(*, short_form: str | None = None) -> list[object]:
    """Every CLI; all but `short_form` only in the heavy suite."""
    return [case.param(heavy=case.agent != short_form) for case in CLI_CASES]


def repo_for(servers: Servers, case: CliCase, *, max_iterations: int | None = None) -> RepoRef:
    config = f"test: python -m pytest -q\nmodel: {case.model}\n"
    if max_iterations is not None:
        config += f"max_iterations: {max_iterations}\n"
    return make_repo(servers.emulator, config)


@pytest.mark.parametrize("case", [case.param() for case in CLI_CASES])
async def test_cli_fixes_the_issue_in_the_sandbox_through_the_proxy(servers: Servers, case: CliCase) -> None:
    repo_ref = repo_for(servers, case)
    add_agents_md(servers.emulator, repo_ref)
    with LLMEmulator() as llm:
        case.script_fix(llm)
        result = await run_agent(servers, repo_ref, case.agent, case.settings(llm.url))
        requests = llm.requests

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    assert servers.emulator.file_content("alice", repo_ref.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    (pull,) = servers.emulator.pulls("alice", repo_ref.name)
    assert pull["head"]["ref"] == "paid/issue-1"  # the fix lands in a PR
    assert case.steps(requests)
    assert all(r.api == case.api and r.stream is case.streams for r in case.steps(requests))
    # Only the proxy holds the key: every call reaching the model went through it.
    assert all(case.holds_real_key(r) for r in requests)
    if case.commits_itself:
        assert len(case.steps(requests)) < len(requests), f"{case.agent} did not commit its edit"
    body = only_comment(servers.emulator, repo_ref)
    assert f"{case.metered_tokens(requests)} tokens" in body  # exactly what the emulator reported
    # The base commit's AGENTS.md reached the model: read by the CLI itself, or in Paid's prompt.
    assert shown(AGENTS_MD_MARKER, case.steps(requests))


@pytest.mark.parametrize("case", cases())
async def test_cli_cannot_write_outside_the_worktree(servers: Servers, case: CliCase) -> None:
    """A CLI's own sandbox is off (or it has none); in Paid's, a write beside the worktree or in /tmp
    lands nowhere on the host. The repository's AGENTS.md is a link: the CLI never reads through it."""
    repo_ref = repo_for(servers, case, max_iterations=1)
    link_agents_md(servers.emulator, repo_ref)
    with LLMEmulator() as llm:
        case.script_escape(llm)
        result = await run_agent(servers, repo_ref, case.agent, case.settings(llm.url))
        requests = llm.requests

    assert case.ran_the_tool(requests), f"{case.agent} never tried the write"
    assert result.outcome is not RunOutcome.SUCCEEDED
    assert not list(servers.tmp_path.rglob(case.escape_file))
    assert not Path("/tmp", case.escape_file).exists()
    assert not shown(LINKED_MARKER, requests)


@pytest.mark.parametrize("case", cases(short_form="codex"))
async def test_cli_is_stopped_within_one_call_when_the_budget_is_spent(
    servers: Servers, case: CliCase
) -> None:
    repo_ref = repo_for(servers, case)
    with LLMEmulator() as llm:
        case.script_endless(llm)
        result = await run_agent(
            servers, repo_ref, case.agent, case.settings(llm.url), max_tokens=case.budget
        )
        requests = llm.requests

    assert result.outcome is RunOutcome.BUDGET_EXCEEDED
    assert len(case.steps(requests)) == case.steps_within_budget
    body = only_comment(servers.emulator, repo_ref)
    assert "budget exceeded" in body
    assert f"{case.metered_tokens(requests)} tokens" in body
