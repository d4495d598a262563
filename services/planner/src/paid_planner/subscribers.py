"""The planner's NATS handlers: plan requests start PlanningWorkflow; answers and merges signal it."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from paid_contracts import (
    IssueCommented,
    PlanRequested,
    PromptCategory,
    PullRequestClosed,
    RunFinished,
    subjects,
)
from paid_planner import repo
from paid_planner.answer_trust import AnswerTrust
from paid_planner.config import PlannerSettings
from paid_planner.params import Answer, PlanningInput, TaskBuilt, TaskMerged
from paid_planner.texts import is_paid_text
from paid_planner.workflows import PlanningWorkflow, plan_workflow_id
from paid_prompt_client import PromptClient
from paid_runtime.github_credentials import GitHubCredentials
from paid_runtime.subscriptions import durable_subscribers

log = logging.getLogger(__name__)


def register(
    broker: NatsBroker, client: Client, settings: PlannerSettings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    subscribe = durable_subscribers(broker, "planner")
    trust = AnswerTrust(
        settings.github_api_url,
        GitHubCredentials.from_settings(settings, lambda: broker.connection),
        settings.trusted_associations,
    )
    prompts = PlanningPrompts(broker)

    @subscribe("plan-requested", subjects.GITHUB_PLAN_REQUESTED)
    async def on_plan_requested(event: PlanRequested) -> None:
        await start_planning(client, event, settings, prompts)

    @subscribe("issue-commented", subjects.GITHUB_ISSUE_COMMENTED)
    async def on_issue_commented(event: IssueCommented) -> None:
        await forward_answer(client, event, trust)

    @subscribe("pull-request-closed", subjects.GITHUB_PULL_REQUEST_CLOSED)
    async def on_pull_request_closed(event: PullRequestClosed) -> None:
        await release_merged(client, event, sessions)

    @subscribe("run-finished", subjects.RUN_FINISHED)
    async def on_run_finished(event: RunFinished) -> None:
        await report_built(client, event, sessions)


class PlanningPrompts:
    """The planning prompt of each plan, from evolution's registry (experiments included), decided when the
    plan is requested so that the plan records the version it really used. Falls back to the bundled
    default when evolution does not answer in time."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker
        self._client: PromptClient | None = None

    async def choose(self, request: PlanningInput) -> PlanningInput:
        if self._client is None:
            self._client = PromptClient(self._broker.connection)
        prompt = await self._client.resolve(
            PromptCategory.PLANNING,
            project=request.issue.repo.full_name,
            run_key=plan_workflow_id(request.issue),
        )
        return request.model_copy(
            update={"prompt_version": prompt.version, "prompt_template": prompt.template}
        )


async def start_planning(
    client: Client, event: PlanRequested, settings: PlannerSettings, prompts: PlanningPrompts | None = None
) -> str:
    """Starts the issue's PlanningWorkflow, or tells the running one the label was applied again.

    Signal-with-start: a running plan receives the signal (it counts as an answer while questions are
    open, and changes nothing otherwise); a completed plan is not restarted, a failed one may be
    (ALLOW_DUPLICATE_FAILED_ONLY). Raising makes the subscriber nack, so the message is redelivered.
    Without `prompts` (no NATS), the plan uses the bundled planning prompt.
    """
    workflow_id = plan_workflow_id(event.issue)
    request = PlanningInput(
        issue=event.issue,
        label=event.label,
        actor=event.actor,
        request_event_id=event.event_id,
        needs_input_label=settings.needs_input_label,
        answer_timeout_days=settings.answer_timeout_days,
        max_question_rounds=settings.max_question_rounds,
        pinned=event.pinned,
        auto=event.auto,
    )
    if prompts is not None:
        request = await prompts.choose(request)
    try:
        await client.start_workflow(
            PlanningWorkflow.run,
            request,
            id=workflow_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            start_signal="answer",
            start_signal_args=[
                Answer(author=event.actor, body="", trusted=True, pinned=event.pinned, auto=event.auto)
            ],
        )
    except WorkflowAlreadyStartedError:
        log.info("%s already planned; request %s changes nothing", workflow_id, event.event_id)
    else:
        log.info("%s started or signalled for request %s", workflow_id, event.event_id)
    return workflow_id


async def forward_answer(client: Client, event: IssueCommented, trust: AnswerTrust) -> bool:
    """Signals the issue's running plan with a comment that may answer its questions; the workflow
    keeps it only when `trusted` (write access) or written by whoever asked for the plan."""
    if is_paid_text(event.body) or not await _planning(client, plan_workflow_id(event.issue)):
        return False
    trusted = await trust.trusted(event)
    answer = Answer(author=event.author, body=event.body, comment_id=event.comment_id, trusted=trusted)
    return await _signal(client, plan_workflow_id(event.issue), "answer", answer)


async def _planning(client: Client, workflow_id: str) -> bool:
    """Whether the issue has a running plan (checked first, so GitHub is asked only about its comments)."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return description.status is WorkflowExecutionStatus.RUNNING


async def release_merged(
    client: Client, event: PullRequestClosed, sessions: async_sessionmaker[AsyncSession]
) -> int:
    """A merged pull request that closes planned sub-issues marks their tasks done in their plans."""
    if not event.merged:
        return 0
    signalled = 0
    for number in event.closes:
        async with sessions() as session:
            task = await repo.task_for_issue(session, repo=event.repo.full_name, issue_number=number)
        if task is None:
            continue
        merged = TaskMerged(issue_number=number, pull_request=event.number)
        signalled += await _signal(client, task.plan_id, "task_merged", merged)
    return signalled


async def report_built(
    client: Client, event: RunFinished, sessions: async_sessionmaker[AsyncSession]
) -> bool:
    """A run on a planned sub-issue ended: its plan hears how (an auto plan releases the task's dependents
    on its pull request, and stops on a failure; a plain plan ignores it). The event is the executor's:
    only it may publish on `paid.run.>`."""
    async with sessions() as session:
        task = await repo.task_for_issue(
            session, repo=event.issue.repo.full_name, issue_number=event.issue.number
        )
    if task is None:
        return False
    built = TaskBuilt(
        issue_number=event.issue.number,
        run_id=event.run_id,
        outcome=event.outcome,
        pull_request=event.pull_request_number,
    )
    return await _signal(client, task.plan_id, "task_built", built)


async def _signal(
    client: Client, workflow_id: str, signal: str, payload: Answer | TaskMerged | TaskBuilt
) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).signal(signal, payload)
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:  # no plan, or it has finished: nothing to tell
            return False
        raise
    return True
