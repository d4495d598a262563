"""The planner's handlers, in memory (TestNatsBroker) against the real workflow on the test server:
a plan request starts one PlanningWorkflow, a trusted comment answers, a merged PR releases tasks."""

from __future__ import annotations

import json

from faststream.nats import TestNatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import IssueCommented, PlanRequested, PullRequestClosed, TriggerSource, subjects
from paid_llm_emulator import LLMEmulator
from paid_planner import subscribers
from paid_planner.config import PlannerSettings
from paid_planner.params import PlanningResult, PlanStatus
from paid_planner.texts import comment_marker
from paid_planner.workflows import plan_workflow_id
from paid_runtime.messaging import make_broker

from .conftest import Published, World, task
from .helpers import eventually


def plan_requested(world: World, delivery: str) -> PlanRequested:
    return PlanRequested(
        event_id=delivery,
        producer="gateway",
        issue=world.issue,
        label="paid-plan",
        actor="octo-org",
        source=TriggerSource.WEBHOOK,
        source_id=delivery,
    )


def commented(world: World, comment_id: int, author: str, association: str, body: str) -> IssueCommented:
    return IssueCommented(
        producer="gateway",
        issue=world.issue,
        comment_id=comment_id,
        author=author,
        author_association=association,
        body=body,
        source=TriggerSource.WEBHOOK,
        source_id=f"delivery-c{comment_id}",
    )


async def test_request_answer_and_merges_drive_one_plan_to_completion(
    temporal: WorkflowEnvironment,
    worker: Worker,
    world: World,
    llm: LLMEmulator,
    published: Published,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    two_tasks = {"summary": "Two steps.", "tasks": [task("t1", "Model"), task("t2", "Routes", ("t1",))]}
    llm.reply(json.dumps(two_tasks), contains="We use PostgreSQL")
    llm.reply(json.dumps({"summary": "?", "questions": ["Which database?"]}))
    broker = make_broker("nats://unused:4222", "planner")
    settings = PlannerSettings(
        task_queue=worker.task_queue,
        github_api_url=world.emulator.api_url,
        github_token=world.bot_token,
        github_credentials="global",  # the in-memory broker has no token minter behind it
    )
    repo = world.issue.repo
    world.emulator.add_user("maintainer", "ghp_maintainer")
    world.emulator.set_permission(repo.owner, repo.name, "maintainer", "write")
    world.emulator.add_user("reader", "ghp_reader")
    world.emulator.set_permission(repo.owner, repo.name, "reader", "read")
    subscribers.register(broker, temporal.client, settings, sessions)
    workflow_id = plan_workflow_id(world.issue)
    handle = temporal.client.get_workflow_handle(workflow_id, result_type=PlanningResult)

    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(plan_requested(world, "delivery-1"), subject=subjects.GITHUB_PLAN_REQUESTED)
        first_run = (await handle.describe()).run_id
        await test_broker.publish(plan_requested(world, "delivery-1"), subject=subjects.GITHUB_PLAN_REQUESTED)
        await eventually(lambda: "paid-needs-input" in world.labels(), "the questions")
        # Paid's own comment, and comments by people without write access, answer nothing.
        questions = next(
            c for c in world.comments() if comment_marker(workflow_id, "questions-1") in c["body"]
        )
        own = commented(world, questions["id"], "paid-bot", "NONE", questions["body"])
        await test_broker.publish(own, subject=subjects.GITHUB_ISSUE_COMMENTED)
        stranger = commented(world, 9001, "stranger", "NONE", "use mongo")
        await test_broker.publish(stranger, subject=subjects.GITHUB_ISSUE_COMMENTED)
        reader = commented(world, 9003, "reader", "COLLABORATOR", "use sqlite")  # read-only collaborator
        await test_broker.publish(reader, subject=subjects.GITHUB_ISSUE_COMMENTED)
        assert len(llm.requests) == 1
        maintainer = commented(world, 9002, "maintainer", "MEMBER", "We use PostgreSQL.")
        await test_broker.publish(maintainer, subject=subjects.GITHUB_ISSUE_COMMENTED)

        await eventually(lambda: published.of("paid.plan.task_ready", workflow_id), "the first task released")
        first, second = world.sub_issues()
        closed = PullRequestClosed(
            producer="gateway", repo=repo, number=77, merged=False, head_ref="paid/x",
            closes=(first["number"],), source=TriggerSource.WEBHOOK, source_id="delivery-p1",
        )  # fmt: skip
        await test_broker.publish(closed, subject=subjects.GITHUB_PULL_REQUEST_CLOSED)
        await test_broker.publish(
            closed.model_copy(update={"merged": True, "event_id": "p2"}),
            subject=subjects.GITHUB_PULL_REQUEST_CLOSED,
        )
        await eventually(
            lambda: len(published.of("paid.plan.task_ready", workflow_id)) == 2, "the second task"
        )
        merged_second = closed.model_copy(
            update={"merged": True, "number": 78, "closes": (second["number"],)}
        )
        await test_broker.publish(merged_second, subject=subjects.GITHUB_PULL_REQUEST_CLOSED)
        result = await handle.result()

    assert result.status is PlanStatus.COMPLETED
    description = await handle.describe()
    assert description.run_id == first_run
    assert description.status is WorkflowExecutionStatus.COMPLETED
    assert len(llm.requests) == 2
    assert "use mongo" not in llm.requests[1].last_user_message
    assert "use sqlite" not in llm.requests[1].last_user_message
    assert [t.task_id for t in result.tasks] == ["t1", "t2"]
