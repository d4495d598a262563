"""Auto mode (`paid-auto`) on the time-skipping server with the real activities: a task is released as the
tasks it depends on have pull requests open, with no merge in between; a failed build stops it with one
comment. A plain plan, whatever its issue says, releases on merges only."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import RunFinished, RunOutcome
from paid_devstack.waiting import wait_until_async
from paid_llm_emulator import LLMEmulator
from paid_planner import repo
from paid_planner.params import Answer, TaskBuilt, TaskMerged
from paid_planner.subscribers import report_built
from paid_planner.texts import AUTO_NOTE, comment_marker
from paid_planner.workflows import PlanningWorkflow, plan_workflow_id

from .conftest import Published, World, task
from .helpers import eventually, planning_input, record_history

CHAIN = json.dumps(
    {
        "summary": "A model, a store on it, routes on the store.",
        "tasks": [task("t1", "Model"), task("t2", "Store", ("t1",)), task("t3", "Routes", ("t2",))],
    }
)


async def start(temporal: WorkflowEnvironment, worker: Worker, world: World, *, auto: bool) -> WorkflowHandle:
    return await temporal.client.start_workflow(
        PlanningWorkflow.run,
        planning_input(world.issue, auto=auto),
        id=plan_workflow_id(world.issue),
        task_queue=worker.task_queue,
    )


def built(sub: dict[str, Any], outcome: RunOutcome, pull_request: int | None, run: str) -> TaskBuilt:
    return TaskBuilt(issue_number=sub["number"], run_id=run, outcome=outcome, pull_request=pull_request)


def run_finished(world: World, number: int, pull_request: int) -> RunFinished:
    return RunFinished(
        producer="executor",
        run_id="r1",
        workflow_id=f"exec:{world.issue.repo.full_name}#{number}:1",
        issue=world.issue.model_copy(update={"number": number}),
        agent="claude-code",
        prompt_version="build@1",
        outcome=RunOutcome.SUCCEEDED,
        started_at="2026-01-01T00:00:00+00:00",
        duration_seconds=60,
        iterations=1,
        pull_request_number=pull_request,
    )


def plan_comment(world: World, plan_id: str) -> str:
    marker = comment_marker(plan_id, "plan")
    return next(str(c["body"]) for c in world.comments() if marker in str(c["body"]))


def shown_status(world: World, plan_id: str, title: str) -> str:
    """The status column of a task's row in the plan comment."""
    row = next(line for line in plan_comment(world, plan_id).splitlines() if f"| {title} |" in line)
    return row.strip("| ").rsplit("|", 1)[-1].strip()


def comments_with(world: World, marker: str) -> list[str]:
    return [str(c["body"]) for c in world.comments() if marker in str(c["body"])]


def released(published: Published, plan_id: str) -> list[str]:
    return [e["task_id"] for e in published.of("paid.plan.task_ready", plan_id)]


async def merge(handle: WorkflowHandle, sub: dict[str, Any], pull_request: int) -> None:
    await handle.signal(
        PlanningWorkflow.task_merged, TaskMerged(issue_number=sub["number"], pull_request=pull_request)
    )


async def test_auto_mode_builds_the_next_task_on_a_pull_request_and_stops_on_a_failure(
    temporal: WorkflowEnvironment,
    worker: Worker,
    world: World,
    llm: LLMEmulator,
    published: Published,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    llm.reply(CHAIN)
    handle = await start(temporal, worker, world, auto=True)
    plan_id = handle.id
    await eventually(lambda: released(published, plan_id) == ["t1"], "t1 released")
    first, second, third = world.sub_issues()
    assert AUTO_NOTE in plan_comment(world, plan_id)

    # t1's run opened a pull request (the executor's event, found by its sub-issue): t2 goes, unmerged.
    assert not await report_built(temporal.client, run_finished(world, 999, 90), sessions)  # no plan's
    assert await report_built(temporal.client, run_finished(world, first["number"], 90), sessions)
    await eventually(lambda: released(published, plan_id) == ["t1", "t2"], "t2 released on t1's PR")
    # t2's build fails (twice delivered): auto mode stops with one comment, t3 stays.
    for _ in range(2):
        await handle.signal(PlanningWorkflow.task_built, built(second, RunOutcome.TESTS_FAILING, None, "r2"))
    stopped = comment_marker(plan_id, "auto-stopped")
    await eventually(lambda: shown_status(world, plan_id, "Store") == "build failed", "t2 failed")
    [stop_comment] = comments_with(world, stopped)
    assert f"#{second['number']} (Store) ended `tests_failing`" in stop_comment
    # A retry of t2 opens its pull request: shown, but auto mode stays stopped, so t3 waits for merges.
    await handle.signal(PlanningWorkflow.task_built, built(second, RunOutcome.SUCCEEDED, 91, "r3"))
    await eventually(lambda: shown_status(world, plan_id, "Store") == "pull request open", "t2's PR")
    async with sessions() as session:
        statuses = {t.task_id: t.status for t in await repo.tasks_of(session, plan_id=plan_id)}
    assert statuses == {"t1": "built", "t2": "built", "t3": "pending"}
    assert released(published, plan_id) == ["t1", "t2"]
    assert AUTO_NOTE not in plan_comment(world, plan_id)

    await merge(handle, first, 90)
    await merge(handle, second, 91)
    await eventually(lambda: released(published, plan_id) == ["t1", "t2", "t3"], "t3 released on merges")
    await merge(handle, third, 92)
    await handle.result()
    assert len(comments_with(world, stopped)) == 1
    await record_history(handle, "auto_stopped_then_merged")


async def idle_since(handle: WorkflowHandle, signal: str | None = None) -> list[str] | None:
    """None while the workflow is busy (an activity pending, or its history not ending in a completed
    workflow task: an activity's start is written only when it ends) or has not yet handled the last
    `signal`; else the activities scheduled since that signal."""
    if (await handle.describe()).raw_description.pending_activities:
        return None
    events = list((await handle.fetch_history()).events)
    if not events or events[-1].event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        return None
    signalled = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and e.workflow_execution_signaled_event_attributes.signal_name == signal
    ]
    if signal is not None and not signalled:
        return None
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events[signalled[-1] + 1 if signalled else len(events) :]
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def scheduled_after(handle: WorkflowHandle, signal: str) -> list[str]:
    """The activities the workflow scheduled for `signal`, once it is idle again."""
    found: list[str] | None = None

    async def settled() -> bool:
        nonlocal found
        found = await idle_since(handle, signal)
        return found is not None

    await wait_until_async(settled, timeout=30, what=f"the {signal} signal handled")
    assert found is not None
    return found


async def test_a_plain_plan_ignores_pull_requests_whatever_its_issue_asks(
    temporal: WorkflowEnvironment, worker: Worker, world: World, llm: LLMEmulator, published: Published
) -> None:
    """The plan label on an issue asking for auto mode: a plain plan (only the auto label marks a plan
    auto, see libs/github_events' test); a task's pull request releases nothing, until a trusted
    labeler applies the auto label."""
    repository = world.issue.repo
    world.emulator.edit_issue(
        repository.owner, repository.name, world.issue.number, as_user="octo-org",
        body="Run this in auto mode, build every task without waiting.\n\n/paid auto\n\nlabels: paid-auto",
    )  # fmt: skip
    llm.reply(CHAIN)
    handle = await start(temporal, worker, world, auto=False)
    plan_id = handle.id
    await eventually(lambda: released(published, plan_id) == ["t1"], "t1 released")
    first, second, third = world.sub_issues()

    async def idle() -> bool:
        return await idle_since(handle) is not None

    await wait_until_async(idle, timeout=30, what="the plan posted and waiting")
    await handle.signal(PlanningWorkflow.task_built, built(first, RunOutcome.SUCCEEDED, 90, "r1"))
    assert await scheduled_after(handle, "task_built") == []
    assert released(published, plan_id) == ["t1"]
    assert AUTO_NOTE not in plan_comment(world, plan_id)
    # An untrusted `auto` answer changes nothing; the auto label applied now (a trusted labeler's start
    # signal) turns the plan to auto mode, and t1's pull request, heard before, releases t2.
    untrusted = Answer(author="stranger", body="auto please", trusted=False, auto=True)
    await handle.signal(PlanningWorkflow.answer, untrusted)
    assert await scheduled_after(handle, "answer") == []
    await handle.signal(PlanningWorkflow.answer, Answer(author="octo-org", auto=True))
    await eventually(lambda: released(published, plan_id) == ["t1", "t2"], "t2 released on t1's PR")

    await merge(handle, first, 90)
    await merge(handle, second, 91)
    await eventually(lambda: released(published, plan_id) == ["t1", "t2", "t3"], "t3 released")
    await merge(handle, third, 92)
    await handle.result()
