"""Budgets through the whole run: the metering proxy stops the agent within one call of the run's
budget or the project's daily budget, and the run ends with one comment that says which; a .paid.yml
that tries to raise the budget gets no run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import RunOutcome
from paid_executor.attempts import attempts_of
from paid_executor.params import ExecutionResult
from paid_executor.repo import get_run
from paid_executor.subscribers import start_execution
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.database import session_factory

from .loop_support import (
    ScriptedAnthropic,
    execution_of,
    loop_request,
    loop_worker,
    run_fails,
    run_to_end,
    script_agent,
)
from .test_fix_forward import make_repo, only_comment

# An agent that keeps calling its model through ANTHROPIC_BASE_URL, as a real one does.
CALLING_AGENT = (
    "import urllib.request, urllib.error\n"
    "for i in range(50):\n"
    "    req = urllib.request.Request(os.environ['ANTHROPIC_BASE_URL'] + '/v1/messages', "
    "data=json.dumps({'model': 'claude-sonnet-4-5', 'max_tokens': 10, 'messages': []}).encode(), "
    "headers={'x-api-key': os.environ['ANTHROPIC_API_KEY'], 'content-type': 'application/json'})\n"
    "    try:\n        urllib.request.urlopen(req).read()\n"
    "    except urllib.error.HTTPError as e:\n        print(e.read().decode()); sys.exit(1)\n"
)


@asynccontextmanager
async def metered_worker(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
    agent: str,
    **overrides: Any,
) -> AsyncIterator[tuple[ScriptedAnthropic, Worker]]:
    """A worker running `agent` whose model calls go through the metering proxy to a scripted provider
    answering 1,000 input and 500 output tokens a call."""
    with ScriptedAnthropic(input_tokens=1000, output_tokens=500) as upstream:
        async with loop_worker(
            env,
            emulator,
            engine,
            broker,
            tmp_path / "ws",
            agent_command=agent,
            anthropic_base_url=upstream.url,
            anthropic_api_key="sk-real-key",
            **overrides,
        ) as worker:
            yield upstream, worker


async def test_the_proxy_stops_a_run_over_its_token_budget_within_one_call(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\n")
    calls = tmp_path / "calls"
    agent = script_agent(
        tmp_path / "agent.py", CALLING_AGENT + f"    pathlib.Path({str(calls)!r}).write_text(str(i + 1))"
    )
    async with metered_worker(env, emulator, engine, broker, tmp_path, agent) as (upstream, worker):
        result = await run_to_end(env.client, loop_request(repo_ref, max_tokens=4000), worker.task_queue)

    assert result.outcome is RunOutcome.BUDGET_EXCEEDED
    # 1500 tokens a call: the third call crosses 4000, and no fourth call reaches the provider.
    assert upstream.calls == 3
    body = only_comment(emulator, repo_ref)
    assert "budget exceeded" in body
    assert "4500 tokens" in body


async def test_the_projects_daily_budget_stops_a_run_within_one_call_with_one_comment(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\n")
    agent = script_agent(tmp_path / "agent.py", CALLING_AGENT)
    async with metered_worker(
        env,
        emulator,
        engine,
        broker,
        tmp_path,
        agent,
        project_daily_max_tokens=4000,
        spend_reserve_tokens_per_call=1500,
    ) as (upstream, worker):
        result = await run_to_end(env.client, loop_request(repo_ref), worker.task_queue)

    assert result.outcome is RunOutcome.BUDGET_EXCEEDED
    # Two calls fit in 4000 tokens; the third is the one call that may pass the cap; none follows.
    assert upstream.calls == 3
    body = only_comment(emulator, repo_ref)
    assert "budget exceeded" in body
    assert "4500 tokens of 4000 spent: the project's daily budget" in body
    # The run's tokens are the proxy's metering over its calls, not the agent's own report.
    async with session_factory(engine)() as session:
        row = await get_run(session, run_id=result.run_id)
    assert row is not None
    assert (row.input_tokens, row.output_tokens) == (3000, 1500)


async def test_a_paid_yml_that_raises_the_budget_gets_one_comment_and_no_run(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    # Anyone who can push to the repository writes .paid.yml: it must not buy itself a bigger budget.
    repo_ref = make_repo(emulator, "test: python -m pytest -q\nmax_cost_usd: 1000000\n")
    ran = tmp_path / "ran"
    agent = script_agent(tmp_path / "agent.py", f"pathlib.Path({str(ran)!r}).write_text('x')")
    async with loop_worker(env, emulator, engine, broker, tmp_path / "ws", agent_command=agent) as worker:
        await run_fails(env.client, loop_request(repo_ref, max_cost_usd=5.0), worker.task_queue)

    assert not ran.exists()
    body = only_comment(emulator, repo_ref)
    assert ".paid.yml may only lower budgets: its max_cost_usd $1000000.00 is above" in body


async def test_a_new_request_after_budget_exceeded_starts_attempt_2(
    env: WorkflowEnvironment,
    emulator: GitHubEmulator,
    engine: AsyncEngine,
    broker: NatsBroker,
    tmp_path: Path,
) -> None:
    repo_ref = make_repo(emulator, "test: python -m pytest -q\n")
    agent = script_agent(tmp_path / "agent.py", CALLING_AGENT)
    first_request = loop_request(repo_ref, max_tokens=4000)

    async def attempt_result(number: int, run_id: str | None) -> ExecutionResult:
        return await execution_of(env.client, first_request.issue, run_id, number).result()

    async with metered_worker(env, emulator, engine, broker, tmp_path, agent) as (_, worker):
        started = await start_execution(env.client, first_request, task_queue=worker.task_queue)
        first = await attempt_result(1, started)
        assert first.outcome is RunOutcome.BUDGET_EXCEEDED

        # The same request again (a redelivery) starts nothing; a new labeling starts attempt 2.
        again = await start_execution(env.client, first_request, task_queue=worker.task_queue)
        assert again is None
        relabeled = loop_request(repo_ref, max_tokens=4000)
        second = await attempt_result(
            2, await start_execution(env.client, relabeled, task_queue=worker.task_queue)
        )

    assert second.run_id != first.run_id
    assert second.outcome is RunOutcome.BUDGET_EXCEEDED
    assert [a.number for a in await attempts_of(env.client, first_request.issue)] == [1, 2]
