"""Build requests and ready tasks arriving over a real NATS JetStream start the workflow once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import (
    BuildRequested,
    IssueRef,
    PromptCategory,
    PromptResolveReply,
    PromptResolveRequest,
    RepoRef,
    RunOutcome,
    TaskReady,
    TriggerSource,
    subjects,
)
from paid_devstack.nats import NatsServer
from paid_executor import subscribers
from paid_executor.config import ExecutorSettings
from paid_executor.params import ExecutionResult
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.messaging import make_broker, publish_event

from .conftest import FIX_DIFF, ISSUE_WITH_FIX

NEW_FILE_DIFF = """\
diff --git a/NOTES.md b/NOTES.md
new file mode 100644
--- /dev/null
+++ b/NOTES.md
@@ -0,0 +1 @@
+Paid was here.
"""


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.1)


@pytest.fixture
async def consuming_broker(
    nats_server: NatsServer, env: WorkflowEnvironment, worker: Worker
) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_server.url, "executor-subscribers-test")
    subscribers.register(broker, env.client, ExecutorSettings(task_queue=worker.task_queue))
    await broker.start()
    yield broker
    await broker.stop()


async def finished(env: WorkflowEnvironment, issue: IssueRef) -> ExecutionResult:
    handle = env.client.get_workflow_handle_for(AgentExecutionWorkflow.run, workflow_id_for(issue))

    async def closed() -> bool:
        try:
            return (await handle.describe()).status not in (None, WorkflowExecutionStatus.RUNNING)
        except RPCError:
            return False

    # Polled to the end rather than only awaiting result(): on a loaded machine the result's long poll
    # may end before the run does, and the SDK then reports a missing completion event.
    await eventually(closed, timeout=240)
    return await handle.result()


async def test_duplicate_build_requests_and_a_ready_task_start_one_workflow_each(
    env: WorkflowEnvironment,
    worker: Worker,
    consuming_broker: NatsBroker,
    emulator: GitHubEmulator,
    calc_repo: RepoRef,
) -> None:
    emulator.create_issue(
        "alice", calc_repo.name, title="add() subtracts", body=ISSUE_WITH_FIX, as_user="alice"
    )
    # The repository's tests fail until add() is fixed, and a run whose tests fail never succeeds:
    # the task's change carries the fix as well.
    emulator.create_issue(
        "alice",
        calc_repo.name,
        title="write notes",
        body=f"```diff\n{NEW_FILE_DIFF}```\n\n```diff\n{FIX_DIFF}```",
        as_user="alice",
    )
    build = IssueRef(repo=calc_repo, number=1)
    task = IssueRef(repo=calc_repo, number=2)
    for source in (TriggerSource.WEBHOOK, TriggerSource.POLL):  # both saw the label being applied
        await publish_event(
            consuming_broker,
            BuildRequested(
                producer="test",
                issue=build,
                label="paid-build",
                actor="alice",
                source=source,
                source_id=str(uuid.uuid4()),
            ),
        )
    await publish_event(
        consuming_broker,
        TaskReady(
            producer="test", plan_id="plan-1", task_id="task-2", parent=build, issue=task, title="notes"
        ),
    )

    built, tasked = await finished(env, build), await finished(env, task)

    assert built.outcome is RunOutcome.SUCCEEDED
    assert tasked.outcome is RunOutcome.SUCCEEDED
    pulls = emulator.pulls("alice", calc_repo.name)
    assert sorted(p["head"]["ref"] for p in pulls) == ["paid/issue-1", "paid/issue-2"]
    assert (
        emulator.file_content("alice", calc_repo.name, "NOTES.md", ref="paid/issue-2") == "Paid was here.\n"
    )
    assert len(emulator.comments("alice", calc_repo.name, 1)) == 1
    latest = await env.client.get_workflow_handle(workflow_id_for(build)).describe()
    assert latest.run_id == built.run_id
    assert latest.status is WorkflowExecutionStatus.COMPLETED


async def test_a_run_uses_and_records_the_prompt_evolution_resolves_for_it(
    env: WorkflowEnvironment,
    consuming_broker: NatsBroker,
    broker: NatsBroker,
    emulator: GitHubEmulator,
    calc_repo: RepoRef,
) -> None:
    """Evolution is played by a scripted peer speaking the real `paid.prompt.resolve` contract."""
    emulator.create_issue(
        "alice", calc_repo.name, title="add() subtracts", body=ISSUE_WITH_FIX, as_user="alice"
    )
    issue = IssueRef(repo=calc_repo, number=1)
    asked: list[PromptResolveRequest] = []
    candidate = "Candidate prompt for {{ repo }}#{{ number }} on {{ branch }}: {{ title }}\n{{ body }}\n"

    async def evolution(message: Msg) -> None:
        request = PromptResolveRequest.model_validate_json(message.data)
        asked.append(request)
        reply = PromptResolveReply(
            version="coding@7",
            category=request.category,
            template=candidate,
            variables=("repo", "number", "branch", "title", "body"),
            experiment_id="exp-1",
            arm="candidate-1",
        )
        await message.respond(reply.model_dump_json().encode())

    peer = await consuming_broker.connection.subscribe(subjects.PROMPT_RESOLVE, cb=evolution)
    try:
        await publish_event(
            consuming_broker,
            BuildRequested(
                producer="test",
                issue=issue,
                label="paid-build",
                actor="alice",
                source=TriggerSource.WEBHOOK,
                source_id=str(uuid.uuid4()),
            ),
        )
        result = await finished(env, issue)
    finally:
        await peer.unsubscribe()

    assert [(r.category, r.project, r.run_key) for r in asked] == [
        (PromptCategory.CODING, calc_repo.full_name, workflow_id_for(issue))
    ]
    assert result.outcome is RunOutcome.SUCCEEDED
    js = broker.connection.jetstream()
    info = await js.stream_info("PAID_RUN")
    versions = {}
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        event = json.loads((await js.get_msg("PAID_RUN", seq)).data or b"{}")
        if event.get("run_id") == result.run_id and "prompt_version" in event:
            versions[event["type"]] = event["prompt_version"]
    assert versions == {"paid.run.started": "coding@7", "paid.run.finished": "coding@7"}
