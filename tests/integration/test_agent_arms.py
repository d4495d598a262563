"""Agents as experiment arms, for real: an experiment of two agents in evolution's database, two
labeled issues of one project that evolution's assignment puts on different arms, and each run goes
through all five services with its arm's agent. Evolution records each run under its own arm, with
the agent that really ran, and scores it there. Twice: the stack's command agent against the demo
agent, and two real CLIs, Codex against Gemini CLI, each with its model scripted in its own protocol
on the session's LLM emulator, behind the executor's metering proxy. Heavy (two full runs each,
~35-55 s under load); its short
forms in the default run: services/executor/tests/test_experiment_agent_choice.py (the precedence,
and a run whose arm the project does not allow falls back and names no arm) and
services/evolution/tests/test_agent_arm_experiments.py (resolution over NATS and attribution)."""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from dataclasses import dataclass

import pytest
from sqlmodel import col, select

from paid_contracts import PromptCategory
from paid_contracts.workflow_ids import execution_workflow_id
from paid_devstack import wait_until
from paid_devstack.demo_repo import MAINTAINER, DemoIssue, issue_body
from paid_devstack.sandbox import EmulatedPaid
from paid_evolution import experiments
from paid_evolution.arms import ArmChoice
from paid_evolution.assignment import ArmWeight, assign
from paid_evolution.decisions import CONTROL, ExperimentSettings
from paid_evolution.models import RunRecord
from paid_evolution.stats import ArmSample
from paid_llm_emulator import LLMEmulator
from paid_llm_emulator.rules import EmulatedToolCall
from paid_runtime.database import make_engine, session_factory

from .conftest import AGENT_CLIS, REAL_KEY

pytestmark = pytest.mark.integration

CANDIDATE = "candidate-1"
FIX_COMMAND = "sed -i 's/a - b/a + b/' calc.py"


@dataclass(frozen=True)
class Arms:
    """The agent each arm runs; a control without a choice runs the project's agent."""

    control: ArmChoice
    candidate: ArmChoice
    ran: dict[str, str]  # the agent evolution must record for each arm

    def script(self, llm: LLMEmulator, repository: str) -> None:
        """Each real CLI's model, in its own protocol: run the fix through its shell tool, then stop."""
        tools = {
            "codex": ("responses", "exec_command", "cmd"),
            "gemini": ("gemini", "run_shell_command", "command"),
        }
        for agent in self.ran.values():
            if agent in tools:
                api, tool, argument = tools[agent]
                call = EmulatedToolCall(name=tool, arguments={argument: FIX_COMMAND})
                llm.reply(tool_calls=(call,), times=1, api=api, tool=tool, contains=repository)
                llm.reply("Fixed add().", api=api, contains=repository)


# The project's agent is the integration stack's command agent (the demo agent behind a gate); the
# other agents are allowed to the stack's arms (conftest.py).
DEMO_ARMS = Arms(ArmChoice(), ArmChoice(agent="demo"), {CONTROL: "command", CANDIDATE: "demo"})
CLI_ARMS = Arms(
    ArmChoice(agent="codex", model="gpt-5"),
    ArmChoice(agent="gemini", model="gemini-2.5-pro"),
    {CONTROL: "codex", CANDIDATE: "gemini"},
)
CLIS_INSTALLED = all((AGENT_CLIS / name).exists() for name in ("codex", "gemini"))
if not CLIS_INSTALLED and os.environ.get("CI") == "true":
    pytest.fail(
        f"CI=true and the agent CLIs are missing in {AGENT_CLIS}: scripts/test installs them", pytrace=False
    )


def split_experiment_id(project: str, issues: list[DemoIssue]) -> str:
    """An experiment id under which evolution's own assignment puts the two issues on different arms."""
    weights = [ArmWeight(CANDIDATE, 0.5), ArmWeight(CONTROL, 0.5)]  # in evolution's order, by name
    for attempt in itertools.count():
        experiment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{project}/agents/{attempt}"))
        arms = [assign(experiment_id, execution_workflow_id(project, i.number), weights) for i in issues]
        if arms == [CONTROL, CANDIDATE]:
            return experiment_id
    raise AssertionError("unreachable")


async def start_agents_experiment(paid: EmulatedPaid, project: str, experiment_id: str, arms: Arms) -> None:
    engine = make_engine(paid.platform.infra.database_url)
    try:
        async with session_factory(engine)() as session:
            await experiments.start_experiment(
                session,
                category=PromptCategory.CODING,
                project=project,
                candidates=[arms.candidate],
                settings=ExperimentSettings(),
                experiment_id=experiment_id,
                control_choice=arms.control,
            )
    finally:
        await engine.dispose()


async def scored_runs(paid: EmulatedPaid, experiment_id: str) -> tuple[list[RunRecord], dict[str, ArmSample]]:
    """The experiment's scored runs, and each arm's sample as the sequential test sees it."""
    engine = make_engine(paid.platform.infra.database_url)
    try:
        async with session_factory(engine)() as session:
            query = select(RunRecord).where(
                RunRecord.experiment_id == experiment_id, col(RunRecord.score).is_not(None)
            )
            runs = list((await session.exec(query)).all())
            return runs, await experiments.samples(session, experiment_id=experiment_id)
    finally:
        await engine.dispose()


@pytest.mark.heavy
@pytest.mark.parametrize(
    "arms",
    [
        pytest.param(DEMO_ARMS, id="command-and-demo"),
        pytest.param(
            CLI_ARMS,
            id="codex-and-gemini",
            marks=pytest.mark.skipif(
                not CLIS_INSTALLED, reason=f"needs the agent CLIs: `npm install` in {AGENT_CLIS.parents[1]}"
            ),
        ),
    ],
)
def test_runs_on_two_agent_arms_are_recorded_and_scored_under_their_own_arm(
    paid: EmulatedPaid, llm: LLMEmulator, issue: DemoIssue, arms: Arms
) -> None:
    project = f"{issue.owner}/{issue.repo}"
    second = paid.github.create_issue(
        issue.owner, issue.repo, title="add() subtracts, again", body=issue_body(), as_user=MAINTAINER
    )
    issues = [issue, DemoIssue(issue.owner, issue.repo, int(second["number"]), str(second["html_url"]))]
    experiment_id = split_experiment_id(project, issues)
    asyncio.run(start_agents_experiment(paid, project, experiment_id, arms))
    arms.script(llm, issue.repo)
    seen = len(llm.requests)

    for labeled in issues:
        paid.label(labeled)

    def both_scored() -> bool:
        return len(asyncio.run(scored_runs(paid, experiment_id))[0]) == 2

    wait_until(both_scored, timeout=180, what="both runs recorded and scored under the experiment")

    runs, samples = asyncio.run(scored_runs(paid, experiment_id))
    by_issue = {run.issue: run for run in runs}
    for labeled, arm in zip(issues, (CONTROL, CANDIDATE), strict=True):
        run = by_issue[labeled.number]
        assert (run.arm, run.agent, run.outcome) == (arm, arms.ran[arm], "succeeded"), run
        assert run.pull_request_number is not None
    assert {arm: sample.n for arm, sample in samples.items()} == {CONTROL: 1, CANDIDATE: 1}
    # The real CLIs' calls reached the model through the proxy, which alone holds the key.
    calls = [r for r in llm.requests[seen:] if issue.repo in str(r.body)]
    apis = {r.api for r in calls}
    assert apis == ({"responses", "gemini"} if arms is CLI_ARMS else set()), apis
    assert all(
        {r.headers.get("authorization"), r.headers.get("x-goog-api-key")} & {f"Bearer {REAL_KEY}", REAL_KEY}
        for r in calls
    )
