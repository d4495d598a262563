"""The whole platform on real servers (Temporal dev server, NATS JetStream, PostgreSQL, git over HTTP),
the GitHub emulator, and a real OTLP receiver collecting every service's spans."""

from __future__ import annotations

import itertools
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from paid_devstack import OtlpSink
from paid_devstack.demo_repo import DemoIssue
from paid_devstack.sandbox import EmulatedPaid
from paid_llm_emulator import LLMEmulator

GATED_AGENT = Path(__file__).parent / "agents" / "gated_agent.py"
# The real agent CLIs an experiment's arms may run (test_agent_arms.py), pinned and installed by scripts/test.
AGENT_CLIS = Path(__file__).parents[2] / "services/executor/tests/claude_code/node_modules/.bin"
REAL_KEY = "sk-real-key-the-agent-never-sees"
ADMIN_TOKEN = "integration-admin-token-0123456789abcdef"  # the gateway's bootstrap admin token
_repo_numbers = itertools.count(1)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def spans() -> Iterator[OtlpSink]:
    with OtlpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def llm() -> Iterator[LLMEmulator]:
    """The planner's model: each test scripts its answers, matched on its own issue."""
    with LLMEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def agent_prompts() -> Path:
    """Where the test agent keeps a copy of every prompt it receives."""
    return Path(tempfile.mkdtemp(prefix="paid-agent-prompts-"))


@pytest.fixture(scope="session")
def paid(spans: OtlpSink, llm: LLMEmulator, agent_prompts: Path) -> Iterator[EmulatedPaid]:
    executor_env = {
        "PAID_EXECUTOR_AGENT": "command",
        "PAID_EXECUTOR_AGENT_COMMAND": f"{sys.executable} {GATED_AGENT} {{prompt_file}} {agent_prompts}",
        "PAID_EXECUTOR_HEARTBEAT_TIMEOUT_SECONDS": "2",
        # An experiment's arm may run these (test_agent_arms.py); the CLIs talk to the session's LLM
        # emulator through the executor's proxy, and keep their state in a home of their own.
        "PAID_EXECUTOR_ALLOWED_AGENTS": '["demo", "codex", "gemini"]',
        "PAID_EXECUTOR_CODEX_EXECUTABLE": str(AGENT_CLIS / "codex"),
        "PAID_EXECUTOR_GEMINI_EXECUTABLE": str(AGENT_CLIS / "gemini"),
        "PAID_EXECUTOR_OPENAI_BASE_URL": llm.url,
        "PAID_EXECUTOR_OPENAI_API_KEY": REAL_KEY,
        "PAID_EXECUTOR_GEMINI_BASE_URL": llm.url,
        "PAID_EXECUTOR_GEMINI_API_KEY": REAL_KEY,
        "HOME": tempfile.mkdtemp(prefix="paid-integration-agent-home-"),
        # The gated agent waits on files outside its worktree, which the bwrap sandbox hides;
        # sandboxing has its own tests (services/executor/tests/test_sandbox_bwrap.py).
        "PAID_EXECUTOR_SANDBOX": "local",
    }
    # Not under pytest's tmp root: pytest makes that 0700 when a session starts, and the embedded
    # PostgreSQL runs as an unprivileged user that must keep reaching its data directory.
    home = Path(tempfile.mkdtemp(prefix="paid-integration-"))
    planner_env = {
        "PAID_PLANNER_LLM_PROVIDER": "anthropic",
        "PAID_PLANNER_LLM_BASE_URL": llm.anthropic_base_url,
        "PAID_PLANNER_LLM_MODEL": "claude-sonnet-4-5",
    }
    service_env = {
        "executor": executor_env,
        "planner": planner_env,
        "gateway": {"PAID_GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN},
    }
    with EmulatedPaid(home, service_env=service_env, otlp_endpoint=spans.endpoint) as stack:
        yield stack


@pytest.fixture(scope="session")
def admin_token() -> str:
    return ADMIN_TOKEN


@pytest.fixture
def issue(paid: EmulatedPaid) -> DemoIssue:
    """A fresh repository (so runs of different tests never share a workflow id) with its issue."""
    return paid.create_repository("acme", f"calculator-{next(_repo_numbers)}")
