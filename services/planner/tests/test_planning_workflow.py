"""PlanningWorkflow with its real activities, on the time-skipping server, against the emulators."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import PlanRequested, TriggerSource
from paid_llm_emulator import LLMEmulator
from paid_planner import repo
from paid_planner.config import PlannerSettings
from paid_planner.params import Answer, PlanningResult, PlanStatus, TaskMerged
from paid_planner.subscribers import start_planning
from paid_planner.texts import comment_marker, task_marker
from paid_planner.workflows import PlanningWorkflow, plan_workflow_id

from .conftest import THREE_TASKS, Published, World, task
from .helpers import eventually, planning_input, record_history


async def start(
    temporal: WorkflowEnvironment, worker: Worker, world: World, **extra: object
) -> WorkflowHandle:
    return await temporal.client.start_workflow(
        PlanningWorkflow.run,
        planning_input(world.issue, **extra),
        id=plan_workflow_id(world.issue),
        task_queue=worker.task_queue,
    )


async def merge_every_task(handle: WorkflowHandle, world: World) -> PlanningResult:
    """Ends a plan the way production does: every sub-issue's pull request merged.

    (Terminating instead could strand a scheduled activity, which stops the time-skipping server from
    skipping time for the next tests.)
    """
    for number, sub in enumerate(world.sub_issues(), start=100):
        await handle.signal(
            PlanningWorkflow.task_merged, TaskMerged(issue_number=sub["number"], pull_request=number)
        )
    result: PlanningResult = await handle.result()
    assert result.status is PlanStatus.COMPLETED
    return result


async def plan_failure(result: Awaitable[object]) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as failed:
        await result
    assert isinstance(failed.value.cause, ApplicationError)
    return failed.value.cause


def with_marker(items: list[dict[str, object]], marker: str) -> list[dict[str, object]]:
    return [item for item in items if marker in str(item["body"])]


async def test_a_plan_becomes_ordered_sub_issues_released_in_dependency_order(
    temporal: WorkflowEnvironment,
    worker: Worker,
    world: World,
    llm: LLMEmulator,
    published: Published,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    llm.reply(THREE_TASKS, contains="Split the widget API", input_tokens=2000, output_tokens=500)
    handle = await start(temporal, worker, world)
    plan_id = handle.id

    await eventually(lambda: published.of("paid.plan.task_ready", plan_id), "the first task released")
    subs = world.sub_issues()
    assert [s["title"] for s in subs] == [
        "Add the widget model",
        "Add the widget store",
        "Add the widget routes",
    ]
    assert [task_marker(plan_id, t) in s["body"] for t, s in zip(("t1", "t2", "t3"), subs, strict=True)] == [
        True
    ] * 3
    assert f"Depends on #{subs[0]['number']}." in subs[1]["body"]
    assert "- [ ] Add the widget store is covered by a test" in subs[1]["body"]
    [plan_comment] = with_marker(world.comments(), comment_marker(plan_id, "plan"))
    assert "Split the widget API into a model" in str(plan_comment["body"])
    assert "planning@1" in str(plan_comment["body"])
    [created] = published.of("paid.plan.created", plan_id)
    assert [t["issue_number"] for t in created["tasks"]] == [s["number"] for s in subs]
    assert (created["input_tokens"], created["output_tokens"]) == (2000, 500)
    assert created["cost_usd"] == (2000 * 3.0 + 500 * 15.0) / 1e6
    assert [e["task_id"] for e in published.of("paid.plan.task_ready", plan_id)] == ["t1"]
    # What the model was shown: the issue, the tree and the contributing files.
    prompt = llm.requests[0].last_user_message
    assert "Make the API modular." in prompt
    assert "src/widgets/api.py" in prompt
    assert "Run `pytest` before sending a pull request." in prompt

    await handle.signal(
        PlanningWorkflow.task_merged, TaskMerged(issue_number=subs[0]["number"], pull_request=90)
    )
    await eventually(lambda: len(published.of("paid.plan.task_ready", plan_id)) == 3, "t2 and t3 released")
    for sub, pull in ((subs[1], 91), (subs[2], 92)):
        await handle.signal(
            PlanningWorkflow.task_merged, TaskMerged(issue_number=sub["number"], pull_request=pull)
        )
    result: PlanningResult = await handle.result()

    assert result.status is PlanStatus.COMPLETED
    await record_history(handle, "planned_and_released")
    assert [t.task_id for t in result.tasks] == ["t1", "t2", "t3"]
    ready = published.of("paid.plan.task_ready", plan_id)
    assert [e["event_id"] for e in ready] == [
        f"{plan_id}:t1:ready",
        f"{plan_id}:t2:ready",
        f"{plan_id}:t3:ready",
    ]
    assert ready[1]["issue"]["number"] == subs[1]["number"]
    assert published.of("paid.plan.completed", plan_id)
    assert with_marker(world.comments(), comment_marker(plan_id, "done"))
    [plan_comment] = with_marker(world.comments(), comment_marker(plan_id, "plan"))
    assert str(plan_comment["body"]).count("| merged |") == 3
    assert len(llm.requests) == 1
    async with sessions() as session:
        plan = await repo.get_plan(session, plan_id=plan_id)
        tasks = await repo.tasks_of(session, plan_id=plan_id)
        edges = await repo.dependencies_of(session, plan_id=plan_id)
    assert plan is not None
    assert (plan.status, plan.prompt_version, plan.input_tokens) == ("completed", "planning@1", 2000)
    assert [(t.task_id, t.status, t.pull_request) for t in tasks] == [
        ("t1", "done", 90),
        ("t2", "done", 91),
        ("t3", "done", 92),
    ]
    assert {(e.task_id, e.depends_on) for e in edges} == {("t2", "t1"), ("t3", "t1")}


async def test_questions_wait_for_days_then_the_answer_is_planned_with(
    temporal: WorkflowEnvironment, worker: Worker, world: World, llm: LLMEmulator, published: Published
) -> None:
    plan = json.dumps({"summary": "One task.", "tasks": [task("t1", "Add the widget model")]})
    llm.reply(plan, contains="Answer from @octo-org")
    llm.reply(
        json.dumps({"summary": "Unclear.", "questions": ["Which storage backend?", "Keep the old API?"]})
    )
    handle = await start(temporal, worker, world)
    plan_id = handle.id

    questions = comment_marker(plan_id, "questions-1")
    await eventually(lambda: with_marker(world.comments(), questions), "the questions comment")
    await eventually(lambda: "paid-needs-input" in world.labels(), "the needs-input label")
    [asked] = with_marker(world.comments(), questions)
    assert "1. Which storage backend?" in str(asked["body"])
    # The notifier hears of the questions (needs input), as posted and with the comment to answer.
    await eventually(lambda: published.of("paid.plan.needs_input", plan_id), "the event", timeout=120)
    [needs_input] = published.of("paid.plan.needs_input", plan_id)
    assert needs_input["questions"] == ["Which storage backend?", "Keep the old API?"]
    assert (needs_input["round"], needs_input["label"]) == (1, "paid-needs-input")
    assert needs_input["comment_url"] == asked["html_url"]
    assert needs_input["issue"]["number"] == world.issue.number
    # Days pass (time skipping); an untrusted stranger's comment does not count as an answer.
    await temporal.sleep(timedelta(days=3))
    await handle.signal(PlanningWorkflow.answer, Answer(author="stranger", body="use mongo", trusted=False))
    await temporal.sleep(timedelta(days=3))
    assert not world.sub_issues()
    await handle.signal(
        PlanningWorkflow.answer, Answer(author="octo-org", body="PostgreSQL; drop the old API.")
    )

    await eventually(lambda: published.of("paid.plan.task_ready", plan_id), "the plan after the answer")
    assert [s["title"] for s in world.sub_issues()] == ["Add the widget model"]
    assert "paid-needs-input" not in world.labels()
    assert len(llm.requests) == 2
    assert "PostgreSQL; drop the old API." in llm.requests[1].last_user_message
    assert "use mongo" not in llm.requests[1].last_user_message
    [created] = published.of("paid.plan.created", plan_id)
    assert created["question_rounds"] == 1
    await merge_every_task(handle, world)
    await record_history(handle, "questions_answered")


async def test_unanswered_questions_end_the_plan_after_the_timeout(
    temporal: WorkflowEnvironment, worker: Worker, world: World, llm: LLMEmulator
) -> None:
    llm.reply(json.dumps({"summary": "Unclear.", "questions": ["What is a widget?"]}))
    handle = await start(temporal, worker, world, answer_timeout_days=10)
    questions = comment_marker(handle.id, "questions-1")
    await eventually(lambda: with_marker(world.comments(), questions), "the questions comment")

    failure = await plan_failure(handle.result())  # the time-skipping server jumps the ten days

    assert (failure.type, failure.message) == (
        "PlanUnanswered",
        "nobody answered the questions within 10 days",
    )
    assert not world.sub_issues()
    assert with_marker(world.comments(), comment_marker(handle.id, "failed"))


async def test_invalid_output_is_repaired_once(
    temporal: WorkflowEnvironment, worker: Worker, world: World, llm: LLMEmulator, published: Published
) -> None:
    # A dependency on a later task is invalid: the plan could not be built in order.
    bad = json.dumps({"summary": "x", "tasks": [task("t1", "First", ("t2",)), task("t2", "Second")]})
    llm.reply(THREE_TASKS, contains="does not match the schema")
    llm.reply(bad)
    handle = await start(temporal, worker, world)

    await eventually(lambda: published.of("paid.plan.task_ready", handle.id), "the repaired plan released")

    assert len(llm.requests) == 2
    assert "which is not an earlier task" in llm.requests[1].last_user_message
    assert len(world.sub_issues()) == 3
    await merge_every_task(handle, world)


async def test_invalid_output_twice_fails_with_one_comment_and_creates_nothing_until_relabelled(
    temporal: WorkflowEnvironment, worker: Worker, world: World, llm: LLMEmulator, published: Published
) -> None:
    llm.reply('{"summary": "no tasks and no questions"}', times=2)
    handle = await start(temporal, worker, world)

    failure = await plan_failure(handle.result())

    assert failure.type == "PlanFailed"
    assert "after one repair" in failure.message
    assert len(llm.requests) == 2
    assert world.sub_issues() == []
    assert [i["number"] for i in world.issues()] == [world.issue.number]
    [comment] = with_marker(world.comments(), comment_marker(handle.id, "failed"))
    assert "created nothing" in str(comment["body"])

    # "Apply the plan label again to retry": the failed plan starts afresh, as the same plan.
    llm.reply(THREE_TASKS)
    relabel = PlanRequested(
        producer="gateway", issue=world.issue, label="paid-plan", actor="octo-org",
        source=TriggerSource.WEBHOOK, source_id="again",
    )  # fmt: skip
    await start_planning(temporal.client, relabel, PlannerSettings(task_queue=worker.task_queue))
    await eventually(lambda: published.of("paid.plan.task_ready", handle.id), "the plan after the re-label")
    await merge_every_task(temporal.client.get_workflow_handle_for(PlanningWorkflow.run, handle.id), world)


async def test_a_rejected_request_fails_at_once_and_overload_is_retried(
    temporal: WorkflowEnvironment, worker: Worker, world: World, llm: LLMEmulator, published: Published
) -> None:
    llm.fail(529, "overloaded", times=1)
    llm.reply(THREE_TASKS)
    handle = await start(temporal, worker, world)
    await eventually(lambda: published.of("paid.plan.task_ready", handle.id), "the plan after an overload")
    assert len(llm.requests) == 2
    await merge_every_task(handle, world)

    llm.clear()
    llm.fail(400, "prompt is too long", times=None)
    other = world.emulator.create_issue(
        world.issue.repo.owner, world.issue.repo.name, title="Another", as_user="octo-org"
    )
    issue = world.issue.model_copy(update={"number": other["number"]})
    failure = await plan_failure(
        temporal.client.execute_workflow(
            PlanningWorkflow.run,
            planning_input(issue),
            id=f"{plan_workflow_id(issue)}:{uuid.uuid4()}",
            task_queue=worker.task_queue,
        )
    )
    assert failure.type == "PlanFailed"
    assert "prompt is too long" in failure.message
    assert len(llm.requests) == 1
