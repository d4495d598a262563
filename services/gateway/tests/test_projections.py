"""The runs read model, built from run events: each event once, in any order, through real NATS."""

from __future__ import annotations

import functools
import uuid

from gateway_run_events import TRACE_ID, RunScript
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import CheckOutcome, IterationSummary, RunFinished, RunOutcome
from paid_devstack import wait_until_async
from paid_devstack.nats import NatsServer
from paid_gateway.projections import projector, queries
from paid_gateway.projections.hub import ChangeHub
from paid_gateway.projections.subscriber import register
from paid_runtime.messaging import ensure_streams, make_broker, publish_event


async def _apply_all(sessions: async_sessionmaker[AsyncSession], *events: projector.RunEvent) -> list[bool]:
    applied = []
    for event in events:
        async with sessions() as session:
            applied.append(await projector.apply(session, event))
    return applied


async def test_a_run_is_projected_from_its_events(sessions: async_sessionmaker[AsyncSession]) -> None:
    run = RunScript()
    await _apply_all(
        sessions,
        run.started(),
        run.output(0, "cloning", "editing calc.py"),
        run.pull_request(),
        run.finished(),
    )
    async with sessions() as session:
        row = await queries.get_run(session, run_id=run.run_id)
        steps = await queries.run_steps(session, run_id=run.run_id)
        tail = await queries.output_tail(session, run_id=run.run_id, lines=10)
    assert row is not None
    assert (row.status, row.repo, row.issue_number, row.agent) == (
        "succeeded",
        run.issue.repo.full_name,
        7,
        "demo",
    )
    assert (row.pull_request_number, row.cost_usd, row.input_tokens, row.iterations) == (3, 0.25, 1000, 2)
    assert row.trace_id == TRACE_ID
    assert row.workflow_id == f"exec:{run.issue.key}"
    assert [s.type for s in steps] == [
        "paid.run.started",
        "paid.run.pull_request_opened",
        "paid.run.finished",
    ]
    assert [line.text for line in tail] == ["cloning", "editing calc.py"]


def two_iterations(hostile_output: str = "") -> tuple[IterationSummary, ...]:
    failed = CheckOutcome(command="pytest -q", exit_code=1, passed=False, output_tail=hostile_output)
    passed = CheckOutcome(command="pytest -q", exit_code=0, passed=True)
    return (
        IterationSummary(number=1, files_changed=1, insertions=3, deletions=0, checks=(failed,), tokens=700),
        IterationSummary(number=2, files_changed=2, insertions=4, deletions=1, checks=(passed,), tokens=500),
    )


async def test_the_model_token_kinds_and_iterations_are_projected(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    run = RunScript()
    iterations = two_iterations("<img src=x onerror=alert(1)> assert -1 == 5")
    finished = run.finished(
        model="claude-x",
        cache_read_tokens=600,
        cache_write_tokens=40,
        reasoning_tokens=90,
        iteration_summaries=iterations,
    )
    await _apply_all(sessions, run.started(), finished)
    async with sessions() as session:
        row = await queries.get_run(session, run_id=run.run_id)
    assert row is not None
    assert (row.model, row.cache_read_tokens, row.cache_write_tokens, row.reasoning_tokens) == (
        "claude-x",
        600,
        40,
        90,
    )
    assert [IterationSummary.model_validate(it) for it in row.iteration_summaries] == list(iterations)


async def test_a_finished_run_from_an_older_executor_has_no_iterations(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    run = RunScript()
    old = run.finished().model_dump(mode="json", exclude={"iteration_summaries", "model", "reasoning_tokens"})
    await _apply_all(sessions, run.started(), RunFinished.model_validate(old))
    async with sessions() as session:
        row = await queries.get_run(session, run_id=run.run_id)
    assert row is not None
    assert (row.status, row.model, row.reasoning_tokens, row.iteration_summaries) == (
        "succeeded",
        None,
        None,
        [],
    )


async def test_each_event_applies_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    run = RunScript()
    first = await _apply_all(sessions, run.started(), run.output(0, "a", "b"), run.finished())
    again = await _apply_all(sessions, run.started(), run.output(0, "a", "b"), run.finished())
    assert first == [True, True, True]
    assert again == [False, False, False]
    async with sessions() as session:
        assert len(await queries.output_tail(session, run_id=run.run_id, lines=10)) == 2
        assert len(await queries.run_steps(session, run_id=run.run_id)) == 2


async def test_a_late_started_event_does_not_reopen_a_finished_run(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    run = RunScript()
    await _apply_all(
        sessions,
        run.output(1, "second batch"),
        run.finished(RunOutcome.CANCELLED),
        run.output(0, "first batch"),
    )
    await _apply_all(sessions, run.started())
    async with sessions() as session:
        row = await queries.get_run(session, run_id=run.run_id)
        tail = await queries.output_tail(session, run_id=run.run_id, lines=10)
    assert row is not None
    assert row.status == "cancelled"
    assert row.prompt_version == "build-v1"
    assert [line.text for line in tail] == ["first batch", "second batch"], "agent order, not arrival order"


async def test_the_subscriber_projects_what_is_published_on_nats(
    nats_server: NatsServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # A broker of its own, as the gateway process has, with the durable consumer of the projection.
    broker = make_broker(nats_server.url, f"gateway-{uuid.uuid4().hex[:6]}")
    hub = ChangeHub()
    register(broker, sessions, hub)
    await broker.connect()
    await ensure_streams(broker)
    await broker.start()
    try:
        run = RunScript()
        publish = functools.partial(publish_event, broker)
        for event in (run.started(), run.output(0, "hello from the agent"), run.finished(RunOutcome.ERROR)):
            await publish(event)

        async def finished() -> bool:
            async with sessions() as session:
                row = await queries.get_run(session, run_id=run.run_id)
            return row is not None and row.status == "error"

        await wait_until_async(finished, timeout=20, what="the run projected as finished")
        async with sessions() as session:
            tail = await queries.output_tail(session, run_id=run.run_id, lines=5)
        assert [line.text for line in tail] == ["hello from the agent"]
    finally:
        await broker.stop()


async def test_cost_per_project_and_day(sessions: async_sessionmaker[AsyncSession]) -> None:
    repo = f"acme/costly-{uuid.uuid4().hex[:6]}"
    first, second = RunScript(repo, number=1), RunScript(repo, number=2)
    await _apply_all(sessions, first.finished(cost=0.5), second.finished(cost=0.25))
    async with sessions() as session:
        rows = [r for r in await queries.cost_by_project_and_day(session) if r.project == repo]
    assert len(rows) == 1
    assert (rows[0].runs, rows[0].cost_usd, rows[0].input_tokens, str(rows[0].day)) == (
        2,
        0.75,
        2000,
        "2026-11-24",
    )
