"""The executor's NATS handler for follow-up rounds: a submitted review may start a review round."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from paid_contracts import CheckRunCompleted, PullRequestClosed, PullRequestReviewed, subjects
from paid_contracts.workflow_ids import pull_conversation_workflow_id
from paid_executor.config import ExecutorSettings
from paid_executor.rounds.ci import ci_rounds
from paid_executor.rounds.conversation import PullConversationWorkflow
from paid_executor.rounds.params import ConversationPolicy
from paid_executor.rounds.triggers import NoRound, request_round, review_round
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredentials
from paid_runtime.github_trust import GitHubUnavailableError, github_client
from paid_runtime.messaging import STREAMS
from paid_runtime.subscriptions import durable_subscriber

log = logging.getLogger(__name__)
SERVICE = "executor"


def conversation_policy(settings: ExecutorSettings) -> ConversationPolicy:
    return ConversationPolicy(
        agent=settings.agent,
        sandbox=settings.sandbox,
        agent_timeout_seconds=settings.agent_timeout_seconds,
        heartbeat_timeout_seconds=settings.heartbeat_timeout_seconds,
        home_start_timeout_seconds=settings.home_start_timeout_seconds,
        max_tokens=settings.run_max_tokens,
        max_cost_usd=settings.run_max_cost_usd,
        round_cap=settings.round_cap,
    )


async def on_review(
    client: Client, event: PullRequestReviewed, settings: ExecutorSettings, credentials: GitHubCredentials
) -> str | None:
    """The conversation's workflow id when the review asked for a round, else None. The reviewers'
    trust and their comments are read with the repository's read-only `trust` token."""
    try:
        credential = await credentials.for_repository(event.repo.full_name, "trust")
    except CredentialUnavailable as error:
        if not error.permanent:
            raise GitHubUnavailableError(error.reason) from None  # redelivered: the minter may answer
        log.info("review %s on %s starts no round: %s", event.review_id, event.repo.full_name, error.reason)
        return None
    async with github_client(settings.github_api_url, credential.token) as github:
        found = await review_round(event, github, allowlist=settings.trusted_reviewers)
    if isinstance(found, NoRound):
        log.info(
            "review %s on %s#%s starts no round: %s",
            event.review_id,
            event.repo.full_name,
            event.number,
            found.reason,
        )
        return None
    return await request_round(
        client, found, policy=conversation_policy(settings), task_queue=settings.task_queue
    )


async def on_check_run(client: Client, event: CheckRunCompleted, settings: ExecutorSettings) -> list[str]:
    """The conversations a failing check asked for a round (usually one pull request's). Check runs need
    the `checks` permission, which Paid's App does not ask for: they are read with the global token."""
    async with github_client(settings.github_api_url, settings.github_token) as github:
        found = await ci_rounds(
            event,
            github,
            apps=tuple(settings.ci_check_apps),
            fix_label=settings.fix_ci_label,
            auto_fix_ci=settings.auto_fix_ci,
        )
    if isinstance(found, NoRound):
        log.info(
            "check run %s on %s starts no round: %s", event.check_run_id, event.repo.full_name, found.reason
        )
        return []
    policy = conversation_policy(settings)
    started = [
        await request_round(client, one, policy=policy, task_queue=settings.task_queue) for one in found
    ]
    return [workflow_id for workflow_id in started if workflow_id is not None]


async def on_pull_closed(client: Client, event: PullRequestClosed) -> bool:
    """Ends the pull request's conversation, if it has one; True when it did."""
    handle = client.get_workflow_handle_for(
        PullConversationWorkflow.run, pull_conversation_workflow_id(event.repo.full_name, event.number)
    )
    try:
        await handle.signal(PullConversationWorkflow.stop)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:  # never had one, or it has ended already
            raise
        return False
    return True


def register_rounds(
    broker: NatsBroker, client: Client, settings: ExecutorSettings, credentials: GitHubCredentials
) -> None:
    @durable_subscriber(
        broker,
        service=SERVICE,
        name="pull-request-reviewed",
        subject=subjects.GITHUB_PULL_REQUEST_REVIEWED,
        stream=STREAMS["PAID_GITHUB"],
    )
    async def on_pull_request_reviewed(event: PullRequestReviewed) -> None:
        await on_review(client, event, settings, credentials)

    @durable_subscriber(
        broker,
        service=SERVICE,
        name="check-run-completed",
        subject=subjects.GITHUB_CHECK_RUN_COMPLETED,
        stream=STREAMS["PAID_GITHUB"],
    )
    async def on_check_run_completed(event: CheckRunCompleted) -> None:
        await on_check_run(client, event, settings)

    @durable_subscriber(
        broker,
        service=SERVICE,
        name="pull-request-closed",
        subject=subjects.GITHUB_PULL_REQUEST_CLOSED,
        stream=STREAMS["PAID_GITHUB"],
    )
    async def on_pull_request_closed(event: PullRequestClosed) -> None:
        await on_pull_closed(client, event)
