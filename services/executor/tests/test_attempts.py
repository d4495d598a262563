"""Attempts: a new trigger after a finished attempt starts the next one (`exec:…#n:2`), the same
trigger never starts two, and a success whose pull request is still open or merged is not redone.
Build requests arrive over real NATS JetStream; the workflow runs on Temporal's time-skipping server
against the GitHub emulator."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from faststream.nats import NatsBroker
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from paid_contracts import BuildRequested, IssueRef, RepoRef, RunOutcome, TriggerSource
from paid_devstack.nats import NatsServer
from paid_executor import subscribers
from paid_executor.attempts import attempts_of
from paid_executor.config import ExecutorSettings
from paid_executor.params import ExecutionResult
from paid_executor.workflows import AgentExecutionWorkflow, workflow_id_for
from paid_github_emulator.server import GitHubEmulator
from paid_runtime.github_credentials import GitHubCredentials
from paid_runtime.messaging import make_broker, publish_event

from .conftest import ISSUE_WITH_FIX, TOKEN
from .test_subscribers import NEW_FILE_DIFF, eventually


@pytest.fixture
def settings(worker: Worker, emulator: GitHubEmulator) -> ExecutorSettings:
    return ExecutorSettings(
        task_queue=worker.task_queue,
        github_api_url=emulator.api_url,
        github_token=TOKEN,
        github_credentials="global",  # no gateway here
    )


@pytest.fixture
async def consuming_broker(
    nats_server: NatsServer, env: WorkflowEnvironment, settings: ExecutorSettings
) -> AsyncIterator[NatsBroker]:
    broker = make_broker(nats_server.url, "executor-attempts-test")
    subscribers.register(broker, env.client, settings)
    await broker.start()
    yield broker
    await broker.stop()


def labeled(issue: IssueRef) -> BuildRequested:
    """One application of the label, as the translator describes it (its id names the labeling)."""
    return BuildRequested(
        producer="test",
        issue=issue,
        label="paid-build",
        actor="alice",
        source=TriggerSource.WEBHOOK,
        source_id=str(uuid.uuid4()),
    )


async def attempt_result(env: WorkflowEnvironment, issue: IssueRef, attempt: int) -> ExecutionResult:
    handle = env.client.get_workflow_handle_for(AgentExecutionWorkflow.run, workflow_id_for(issue, attempt))

    async def closed() -> bool:
        try:
            description = await handle.describe()
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            return False
        return description.status != WorkflowExecutionStatus.RUNNING

    # Polled rather than only awaiting result(): on a loaded machine the result's long poll may end
    # before the run does, and the SDK then reports a missing completion event.
    await eventually(closed, timeout=240)
    return await handle.result()


# Heavy: attempt 2 after budget_exceeded (test_budget_runs.py) and after a closed pull request
# (below) are the default run's forms.
@pytest.mark.heavy
async def test_relabeling_after_tests_failing_starts_attempt_2_and_a_redelivery_starts_nothing(
    env: WorkflowEnvironment,
    consuming_broker: NatsBroker,
    settings: ExecutorSettings,
    emulator: GitHubEmulator,
    calc_repo: RepoRef,
) -> None:
    # A change that leaves the repository's failing test failing: the run ends as tests_failing.
    emulator.create_issue(
        "alice", calc_repo.name, title="notes", body=f"```diff\n{NEW_FILE_DIFF}```", as_user="alice"
    )
    issue = IssueRef(repo=calc_repo, number=1)
    first_labeling = labeled(issue)
    await publish_event(consuming_broker, first_labeling)
    first = await attempt_result(env, issue, 1)
    assert first.outcome is RunOutcome.TESTS_FAILING

    # The same labeling again (a redelivery, or the poller after JetStream's duplicate window).
    request = subscribers.from_build_requested(first_labeling, settings)
    assert await subscribers.start_execution(env.client, request, task_queue=settings.task_queue) is None
    assert len(await attempts_of(env.client, issue)) == 1

    await publish_event(consuming_broker, labeled(issue))
    second = await attempt_result(env, issue, 2)

    assert second.run_id != first.run_id
    assert second.outcome is RunOutcome.TESTS_FAILING
    assert len(await attempts_of(env.client, issue)) == 2


async def test_a_success_is_redone_only_once_its_pull_request_was_closed_unmerged(
    env: WorkflowEnvironment,
    consuming_broker: NatsBroker,
    settings: ExecutorSettings,
    emulator: GitHubEmulator,
    calc_repo: RepoRef,
) -> None:
    emulator.create_issue(
        "alice", calc_repo.name, title="add() subtracts", body=ISSUE_WITH_FIX, as_user="alice"
    )
    issue = IssueRef(repo=calc_repo, number=1)
    await publish_event(consuming_broker, labeled(issue))
    first = await attempt_result(env, issue, 1)
    assert first.outcome is RunOutcome.SUCCEEDED
    assert first.pull_request_number is not None

    # While the pull request is open, a new request starts nothing: the work is in review. The issue
    # says why, once, however often the request comes.
    open_request = subscribers.from_build_requested(labeled(issue), settings)
    credentials = GitHubCredentials.from_settings(settings, lambda: consuming_broker.connection)
    states = subscribers.github_pull_states(settings, credentials)
    explain = subscribers.github_explanations(settings, credentials)
    for _ in range(2):
        started = await subscribers.start_execution(
            env.client, open_request, task_queue=settings.task_queue, pull_states=states, explain=explain
        )
        assert started is None
    assert len(await attempts_of(env.client, issue)) == 1
    explanations = [
        c["body"]
        for c in emulator.comments("alice", calc_repo.name, 1)
        if "did not start a new attempt" in c["body"]
    ]
    assert len(explanations) == 1
    assert f"attempt 1 succeeded and its pull request #{first.pull_request_number} is open" in explanations[0]

    async with httpx.AsyncClient(
        base_url=emulator.api_url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as github:
        closed = await github.patch(
            f"/repos/alice/{calc_repo.name}/pulls/{first.pull_request_number}", json={"state": "closed"}
        )
        closed.raise_for_status()

    await publish_event(consuming_broker, labeled(issue))
    second = await attempt_result(env, issue, 2)

    assert second.outcome is RunOutcome.SUCCEEDED
    assert second.pull_request_number not in (None, first.pull_request_number)
    assert [p["state"] for p in emulator.pulls("alice", calc_repo.name)] == ["closed", "open"]
