"""The real agent CLIs in the docker sandbox: the same scripted fixes and budget stops as in bwrap
(test_agent_clis.py), in a container with a read-only root, no network but the proxy's socket, and no
credential. The image holds the runtime (python, node, a shell's tools, git) and never a CLI: each
CLI's pinned package is mounted read-only from the host, as in production
(deploy/images/sandbox-agents).

The fix runs are heavy (about 30 s each: two containers, the agent's and the check's); the default run
keeps Codex's budget stop, the quickest (about 6 s), as their short form."""

from __future__ import annotations

import os
from typing import Any

import pytest

from paid_contracts import RepoRef, RunOutcome
from paid_llm_emulator.server import LLMEmulator

from .agent_runs import Servers, run_agent
from .cli_cases import CLI_CASES, NODE_CLIS, CliCase
from .conftest import FIXED_CALC
from .docker_support import can_build_agent_image, docker_client, ensure_agent_image
from .instruction_files import AGENTS_MD_MARKER, add_agents_md, shown
from .test_fix_forward import make_repo, only_comment

DOCKER = docker_client()
# The CLIs that are native programs rather than node scripts: the image needs their shared libraries.
NATIVE_CLIS = (
    NODE_CLIS / "node_modules" / ".bin" / "opencode",
    NODE_CLIS / "node_modules" / ".bin" / "claude",
)
# The image has no pytest; the same test, run by python alone.
DOCKER_CHECK = """python -c 'import test_calc; test_calc.test_add()'"""
DOCKER_MARKS = [
    pytest.mark.skipif(DOCKER is None, reason="needs a Docker engine (dockerd), not reachable"),
    pytest.mark.skipif(
        not can_build_agent_image(),
        reason="needs the host's Debian python3.11, node and git to build the sandbox image",
    ),
]


def cases(*, short_form: str | None = None) -> list[object]:
    """Every CLI; all but `short_form` only in the heavy suite."""
    return [
        pytest.param(
            case,
            id=case.agent,
            marks=[
                *case.param(heavy=case.agent != short_form).marks,
                *DOCKER_MARKS,
            ],
        )
        for case in CLI_CASES
    ]


def in_docker(settings: dict[str, Any]) -> dict[str, Any]:
    """The test image, or the deployed one when PAID_TEST_SANDBOX_AGENTS_IMAGE names it
    (`deploy/build-images sandbox-agents` builds paid/sandbox-agents:node<version>)."""
    assert DOCKER is not None
    image = os.environ.get("PAID_TEST_SANDBOX_AGENTS_IMAGE") or ensure_agent_image(DOCKER, NATIVE_CLIS)
    return settings | {"sandbox_image": image}


def repo_for(servers: Servers, case: CliCase) -> RepoRef:
    return make_repo(servers.emulator, f"test: {DOCKER_CHECK}\nmodel: {case.model}\n")


@pytest.mark.parametrize("case", cases())
async def test_cli_fixes_the_issue_in_the_docker_sandbox(servers: Servers, case: CliCase) -> None:
    repo_ref = repo_for(servers, case)
    add_agents_md(servers.emulator, repo_ref)
    with LLMEmulator() as llm:
        case.script_fix(llm)
        result = await run_agent(
            servers, repo_ref, case.agent, in_docker(case.settings(llm.url)), sandbox="docker"
        )
        requests = llm.requests

    assert result.outcome is RunOutcome.SUCCEEDED, result.detail
    assert servers.emulator.file_content("alice", repo_ref.name, "calc.py", ref="paid/issue-1") == FIXED_CALC
    (pull,) = servers.emulator.pulls("alice", repo_ref.name)
    assert pull["head"]["ref"] == "paid/issue-1"
    assert case.steps(requests)
    assert all(case.holds_real_key(r) for r in requests)  # the container held only the run's token
    body = only_comment(servers.emulator, repo_ref)
    assert f"{case.metered_tokens(requests)} tokens" in body
    assert shown(AGENTS_MD_MARKER, case.steps(requests))


@pytest.mark.parametrize("case", cases(short_form="codex"))
async def test_cli_in_docker_is_stopped_within_one_call_when_the_budget_is_spent(
    servers: Servers, case: CliCase
) -> None:
    repo_ref = repo_for(servers, case)
    with LLMEmulator() as llm:
        case.script_endless(llm)
        result = await run_agent(
            servers,
            repo_ref,
            case.agent,
            in_docker(case.settings(llm.url)),
            sandbox="docker",
            max_tokens=case.budget,
        )
        requests = llm.requests

    assert result.outcome is RunOutcome.BUDGET_EXCEEDED
    assert len(case.steps(requests)) == case.steps_within_budget
    body = only_comment(servers.emulator, repo_ref)
    assert "budget exceeded" in body
    assert f"{case.metered_tokens(requests)} tokens" in body
