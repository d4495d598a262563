"""The executor's NATS handlers: a build request or a ready task starts one AgentExecutionWorkflow."""

from __future__ import annotations

import logging
import uuid

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from paid_contracts import BuildRequested, IssueCommented, IssueRef, PromptCategory, TaskReady, subjects
from paid_contracts.markers import paid_marker
from paid_executor.agents.choice import AgentChoiceError, label_choice, project_policy
from paid_executor.attempts import Explain, PullStates, start_attempt, trigger_of
from paid_executor.comment_commands import CommandContext, register_commands
from paid_executor.config import ExecutorSettings
from paid_executor.params import ExecutionInput
from paid_executor.project_agents import with_project_agent
from paid_executor.review_trigger import register_review_mode
from paid_executor.rounds.subscribers import register_rounds
from paid_executor.workflows import workflow_id_for
from paid_prompt_client import PromptClient
from paid_runtime.attempts import PullState, pull_request_state
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredentials
from paid_runtime.github_trust import GitHubUnavailableError, comment_once, github_client
from paid_runtime.job_tokens import release_job
from paid_runtime.messaging import STREAMS
from paid_runtime.subscriptions import durable_subscriber

log = logging.getLogger(__name__)
SERVICE = "executor"


def from_build_requested(event: BuildRequested, settings: ExecutorSettings) -> ExecutionInput:
    return ExecutionInput(
        issue=event.issue,
        source=event.source.value,
        source_id=event.source_id,
        request_event_id=event.event_id,
        label=event.label,
        actor=event.actor,
        pinned=event.pinned,
        **_policy(settings),
    )


async def build_request(
    event: BuildRequested, settings: ExecutorSettings, explain: Explain
) -> ExecutionInput | None:
    """The run a build request asks for. A `paid-agent:<agent>` label's agent (its labeler trusted by the
    gateway or the poller, as for the build label) is the trigger's choice, as `/paid build agent=`;
    refused, it starts nothing and is explained once on the issue (None)."""
    request = from_build_requested(event, settings)
    if event.agent is None:
        return request
    try:
        choice = label_choice(event.agent, project_policy(settings))
    except AgentChoiceError as refused:
        await explain(request, str(refused))
        return None
    return request.model_copy(update={"trigger_agent": choice.agent})


def from_command(event: IssueCommented, issue: IssueRef, settings: ExecutorSettings) -> ExecutionInput:
    """`/paid retry` or `/paid build` on `issue`; the comment's event id is the trigger, so a
    redelivery starts nothing new."""
    return ExecutionInput(
        issue=issue,
        source="command",
        source_id=event.source_id,
        request_event_id=event.event_id,
        label=f"/paid {event.command}",
        actor=event.author,
        **_policy(settings),
    )


def from_task_ready(event: TaskReady, settings: ExecutorSettings) -> ExecutionInput:
    return ExecutionInput(
        issue=event.issue,
        source="plan",
        source_id=f"{event.plan_id}/{event.task_id}",
        request_event_id=event.event_id,
        plan_id=event.plan_id,
        task_id=event.task_id,
        **_policy(settings),
    )


def _policy(settings: ExecutorSettings) -> dict[str, object]:
    # Fixed when the workflow starts, so a configuration change never alters a running workflow.
    return {
        "agent": settings.agent,
        "agent_timeout_seconds": settings.agent_timeout_seconds,
        "heartbeat_timeout_seconds": settings.heartbeat_timeout_seconds,
        "home_start_timeout_seconds": settings.home_start_timeout_seconds,
        "sandbox": settings.sandbox,
        "max_iterations": settings.max_iterations,
        "time_limit_seconds": settings.run_time_limit_seconds,
        "max_tokens": settings.run_max_tokens,
        "max_cost_usd": settings.run_max_cost_usd,
    }


async def start_execution(
    client: Client,
    request: ExecutionInput,
    *,
    task_queue: str,
    pull_states: PullStates | None = None,
    explain: Explain | None = None,
    eager_start: bool = True,
) -> str | None:
    """Starts the issue's next attempt (see `attempts`); None when nothing new started. Without
    `pull_states`, a successful attempt's pull request counts as open: no new attempt follows it."""
    states = pull_states or _assume_open
    return await start_attempt(
        client, request, task_queue=task_queue, pull_states=states, explain=explain, eager_start=eager_start
    )


async def _assume_open(issue: IssueRef, number: int) -> PullState:
    return PullState.OPEN


def github_pull_states(settings: ExecutorSettings, credentials: GitHubCredentials) -> PullStates:
    async def state(issue: IssueRef, number: int) -> PullState:
        credential = await credentials.for_repository(issue.repo.full_name, "trust")
        async with github_client(settings.github_api_url, credential.token) as github:
            repo = issue.repo
            return await pull_request_state(github, owner=repo.owner, name=repo.name, number=number)

    return state


def refusal_marker(request: ExecutionInput) -> str:
    return paid_marker(f"attempt-refused {trigger_of(request)}")


def github_explanations(settings: ExecutorSettings, credentials: GitHubCredentials) -> Explain:
    """One comment on the issue per refused trigger (its marker makes a redelivery add none), with a
    token of its own, revoked once written. A failure is logged, not raised: the request is complete
    either way."""

    async def explain(request: ExecutionInput, reason: str) -> None:
        issue = request.issue
        body = f"Paid did not start a new attempt at this issue: {reason}.\n\n{refusal_marker(request)}"
        job = f"explain:{uuid.uuid4().hex}"
        try:
            credential = await credentials.for_repository(issue.repo.full_name, "run", job=job)
            async with github_client(settings.github_api_url, credential.token) as github:
                await comment_once(
                    github,
                    owner=issue.repo.owner,
                    name=issue.repo.name,
                    number=issue.number,
                    marker=refusal_marker(request),
                    body=body,
                )
        except (GitHubUnavailableError, CredentialUnavailable):
            log.exception("could not explain on %s why no attempt started", issue.key)
        finally:
            await release_job(credentials, job)

    return explain


class CodingPrompts:
    """The coding prompt of each run, from evolution's registry (experiments included), decided when the
    run is requested so that the run records the version it really used. Falls back to the bundled
    default when evolution does not answer in time."""

    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker
        self._client: PromptClient | None = None

    async def choose(self, request: ExecutionInput) -> ExecutionInput:
        if self._client is None:
            self._client = PromptClient(self._broker.connection)
        prompt = await self._client.resolve(
            PromptCategory.CODING,
            project=request.issue.repo.full_name,
            run_key=workflow_id_for(request.issue),
        )
        return request.model_copy(
            update={
                "prompt_version": prompt.version,
                "prompt_template": prompt.template,
                "experiment_id": prompt.experiment_id,
                "experiment_arm": prompt.arm,
                "experiment_agent": prompt.agent,
                "experiment_model": prompt.model,
            }
        )


def register(
    broker: NatsBroker, client: Client, settings: ExecutorSettings, engine: AsyncEngine | None = None
) -> None:
    """`engine`: where the projects' agents are kept (project_agents.py); None: the executor's own."""
    prompts = CodingPrompts(broker)

    async def prepare(request: ExecutionInput) -> ExecutionInput:
        if engine is not None:
            request = await with_project_agent(engine, request)
        return await prompts.choose(request)

    credentials = GitHubCredentials.from_settings(settings, lambda: broker.connection)
    register_rounds(broker, client, settings, credentials)
    register_review_mode(broker, client, settings, credentials)
    pull_states = github_pull_states(settings, credentials)
    explain = github_explanations(settings, credentials)
    context = CommandContext(
        settings=settings,
        prepare=prepare,
        to_request=lambda event, issue: from_command(event, issue, settings),
        pull_states=pull_states,
        explain=explain,
        credentials=credentials,
    )
    register_commands(broker, client, context)

    @durable_subscriber(
        broker,
        service=SERVICE,
        name="build-requested",
        subject=subjects.GITHUB_BUILD_REQUESTED,
        stream=STREAMS["PAID_GITHUB"],
    )
    async def on_build_requested(event: BuildRequested) -> None:
        requested = await build_request(event, settings, explain)
        if requested is None:
            return
        request = await prepare(requested)
        await start_execution(
            client,
            request,
            task_queue=settings.task_queue,
            pull_states=pull_states,
            explain=explain,
            eager_start=settings.eager_workflow_start,
        )

    @durable_subscriber(
        broker,
        service=SERVICE,
        name="task-ready",
        subject=subjects.PLAN_TASK_READY,
        stream=STREAMS["PAID_PLAN"],
    )
    async def on_task_ready(event: TaskReady) -> None:
        request = await prepare(from_task_ready(event, settings))
        await start_execution(
            client,
            request,
            task_queue=settings.task_queue,
            pull_states=pull_states,
            explain=explain,
            eager_start=settings.eager_workflow_start,
        )
