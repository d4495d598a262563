"""Projects' own budget caps, kept by the executor: set and listed over NATS request-reply as the
gateway asks, stored in `executor.project_budgets`, and used by the metering proxy in place of the
defaults (a run of a project with a small cap of its own stops within one call of it)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from faststream.nats import NatsBroker
from nats.errors import Error as NatsError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from paid_contracts import RunOutcome
from paid_contracts.budget_caps import BudgetCaps, BudgetsReply, ListProjectBudgets, SetProjectBudget
from paid_devstack import wait_until_async
from paid_devstack.nats import NatsServer
from paid_executor import project_budgets
from paid_executor.activities.launch import Launcher
from paid_executor.config import ExecutorSettings
from paid_executor.project_budgets import own_caps, set_caps, with_own_caps
from paid_executor.proxy import Budget, Cap, SpendPolicy
from paid_executor.run_workspace import RunPaths
from paid_executor.workspace import Identity
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.messaging import make_broker

from .loop_support import loop_request, run_to_end, script_agent
from .test_budget_runs import CALLING_AGENT, metered_worker
from .test_fix_forward import make_repo, only_comment


def test_own_caps_replace_the_defaults_unit_by_unit() -> None:
    default = SpendPolicy(
        project="a/b", day=Cap(1000, 20.0), month=Cap(9000, 200.0), global_month=Cap(None, 1000.0)
    )
    own = BudgetCaps(daily_max_cost_usd=1.0, monthly_max_tokens=0, time_zone="Asia/Tokyo")

    chosen = with_own_caps(default, own)

    assert (chosen.day, chosen.month) == (Cap(1000, 1.0), Cap(0, 200.0))  # 0 is a cap, not "unset"
    assert (chosen.global_month, chosen.time_zone) == (Cap(None, 1000.0), "Asia/Tokyo")
    assert with_own_caps(default, None) == default
    assert with_own_caps(default, BudgetCaps()) == default


async def ask(broker: NatsBroker, subject: str, body: bytes) -> BudgetsReply:
    message = await broker.connection.request(subject, body, timeout=10)
    return BudgetsReply.model_validate_json(message.data)


async def answering(broker: NatsBroker) -> None:
    """faststream may subscribe after `start` returns: ask until the executor answers."""

    async def answers() -> bool:
        try:
            await broker.connection.request(ListProjectBudgets.SUBJECT, b"{}", timeout=1)
        except NatsError:
            return False
        return True

    await wait_until_async(answers, timeout=10, what="the executor's budgets to answer")


async def test_caps_are_set_listed_and_reset_over_nats(
    nats_server: NatsServer, broker: NatsBroker, engine: AsyncEngine
) -> None:
    settings = ExecutorSettings(project_daily_max_cost_usd=7.0, budget_time_zone="UTC")
    executor = make_broker(nats_server.url, "executor-budgets-test")
    project_budgets.register(executor, engine, settings)
    await executor.start()
    project = f"Acme/Caps-{uuid.uuid4().hex[:8]}"
    caps = BudgetCaps(daily_max_cost_usd=2.5, time_zone="America/New_York")
    try:
        await answering(broker)
        set_reply = await ask(
            broker,
            SetProjectBudget.SUBJECT,
            SetProjectBudget(project=project, caps=caps).model_dump_json().encode(),
        )
        listed = await ask(
            broker, ListProjectBudgets.SUBJECT, ListProjectBudgets().model_dump_json().encode()
        )
        refused = await ask(
            broker,
            SetProjectBudget.SUBJECT,
            b'{"project": "%s", "caps": {"daily_max_cost_usd": -1, "time_zone": "Nowhere/Land"}}'
            % project.encode(),
        )
        stored_after_refusal = await own_caps(engine, project)
        reset = await ask(
            broker, SetProjectBudget.SUBJECT, SetProjectBudget(project=project).model_dump_json().encode()
        )
    finally:
        await executor.stop()

    assert set_reply.ok
    assert set_reply.projects[project.lower()] == caps  # kept under the lowercase name
    assert listed.projects[project.lower()] == caps
    assert (listed.defaults.daily_max_cost_usd, listed.defaults.time_zone) == (7.0, "UTC")
    assert not refused.ok
    assert refused.error is not None
    assert "caps.daily_max_cost_usd" in refused.error
    assert "caps.time_zone" in refused.error
    assert stored_after_refusal == caps  # the refused request changed nothing
    assert project.lower() not in reset.projects
    assert await own_caps(engine, project) is None


async def test_an_iterations_proxy_token_counts_against_the_projects_own_caps(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    project = f"acme/Own-{uuid.uuid4().hex[:8]}"
    await set_caps(
        engine, project.upper(), BudgetCaps(daily_max_tokens=4000, time_zone="Asia/Tokyo"), actor="t"
    )
    settings = ExecutorSettings(workspace_root=tmp_path / "ws")
    launcher = Launcher(settings, Identity("Paid", "paid@localhost"), engine)
    paths = RunPaths(*(tmp_path / part for part in ("run", "wt", "up", "work", "git", "prompt", "pgid")))
    try:
        async with launcher.metered(
            launcher.sandbox("none"),
            "none",
            run_id="run-1",
            run_key="run-1",
            paths=paths,
            budget=Budget(),
            timeout=60,
            policy=settings.spend_policy(project),
        ) as launch:
            policy = launch.ledger.policy
    finally:
        await launcher.stop()

    assert policy is not None
    assert policy.day == Cap(4000, settings.project_daily_max_cost_usd)  # own tokens, the default dollars
    assert policy.month == Cap(settings.project_monthly_max_tokens, settings.project_monthly_max_cost_usd)
    assert policy.time_zone == "Asia/Tokyo"


# Heavy: a whole run through the proxy; its short form is the test above.
@pytest.mark.heavy
async def test_a_projects_own_daily_cap_stops_its_run_within_one_call(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\n")
    await set_caps(
        engine,
        repo_ref.full_name.upper(),
        BudgetCaps(daily_max_tokens=4000, time_zone="Asia/Tokyo"),
        actor="t",
    )
    agent = script_agent(tmp_path / "agent.py", CALLING_AGENT)
    async with metered_worker(
        env, emulator, engine, broker, tmp_path, agent, spend_reserve_tokens_per_call=1500
    ) as (upstream, worker):  # the default daily cap (20M tokens) would let all 50 calls through
        result = await run_to_end(env.client, loop_request(repo_ref), worker.task_queue)

    assert result.outcome is RunOutcome.BUDGET_EXCEEDED
    assert upstream.calls == 3  # two fit in 4000 tokens, the third is the one that may pass the cap
    body = only_comment(emulator, repo_ref)
    assert "4500 tokens of 4000 spent: the project's daily budget" in body
    assert "Asia/Tokyo" in body  # the project's own day
