"""The executor's NATS handlers for follow-up rounds: a submitted review may start a review round, a
failing check a CI round, a moved base (a push, a merged pull request) conflict rounds."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from paid_contracts import (
    BaseBranchPushed,
    CheckRunCompleted,
    CheckSuiteCompleted,
    CommitStatusChanged,
    PullRequestClosed,
    PullRequestReviewed,
    RepoRef,
    subjects,
)
from paid_contracts.workflow_ids import pull_conversation_workflow_id
from paid_executor.config import ExecutorSettings
from paid_executor.rounds.ci import ci_rounds, status_rounds, suite_rounds
from paid_executor.rounds.conflicts import conflict_rounds
from paid_executor.rounds.conversation import PullConversationWorkflow
from paid_executor.rounds.params import ConversationPolicy
from paid_executor.rounds.triggers import NoRound, request_round, review_round
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredentials
from paid_runtime.github_trust import GitHubUnavailableError, github_client
from paid_runtime.subscriptions import durable_subscribers

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
        found = await review_round(event, github, allowlist=settings.trusted_reviewers, credential=credential)
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


async def on_check_suite(client: Client, event: CheckSuiteCompleted, settings: ExecutorSettings) -> list[str]:
    """The conversations the failing runs of a failed check suite asked for a round."""
    async with github_client(settings.github_api_url, settings.github_token) as github:
        found = await suite_rounds(
            event,
            github,
            apps=tuple(settings.ci_check_apps),
            fix_label=settings.fix_ci_label,
            auto_fix_ci=settings.auto_fix_ci,
        )
    if isinstance(found, NoRound):
        log.info("check suite %s starts no round: %s", event.check_suite_id, found.reason)
        return []
    policy = conversation_policy(settings)
    started = [
        await request_round(client, one, policy=policy, task_queue=settings.task_queue) for one in found
    ]
    return [workflow_id for workflow_id in started if workflow_id is not None]


async def on_status(client: Client, event: CommitStatusChanged, settings: ExecutorSettings) -> list[str]:
    """The conversations a failing commit status asked for a round."""
    async with github_client(settings.github_api_url, settings.github_token) as github:
        found = await status_rounds(
            event,
            github,
            creators=tuple(settings.ci_status_creators),
            fix_label=settings.fix_ci_label,
            auto_fix_ci=settings.auto_fix_ci,
        )
    if isinstance(found, NoRound):
        log.info("status %s on %s starts no round: %s", event.status_id, event.repo.full_name, found.reason)
        return []
    policy = conversation_policy(settings)
    started = [
        await request_round(client, one, policy=policy, task_queue=settings.task_queue) for one in found
    ]
    return [workflow_id for workflow_id in started if workflow_id is not None]


async def on_base_moved(
    client: Client, repo: RepoRef, settings: ExecutorSettings, *, base: str | None, requested_by: str
) -> list[str]:
    """The conversations of Paid's pull requests against `base` (None: the default branch) that no
    longer merge into it, each asked for a conflict round."""
    async with github_client(settings.github_api_url, settings.github_token) as github:
        found = await conflict_rounds(github, repo, base=base, requested_by=requested_by)
    if isinstance(found, NoRound):
        log.info("the base of %s moved; no conflict round: %s", repo.full_name, found.reason)
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
    subscribe = durable_subscribers(broker, SERVICE)

    @subscribe("pull-request-reviewed", subjects.GITHUB_PULL_REQUEST_REVIEWED)
    async def on_pull_request_reviewed(event: PullRequestReviewed) -> None:
        await on_review(client, event, settings, credentials)

    @subscribe("check-run-completed", subjects.GITHUB_CHECK_RUN_COMPLETED)
    async def on_check_run_completed(event: CheckRunCompleted) -> None:
        await on_check_run(client, event, settings)

    @subscribe("pull-request-closed", subjects.GITHUB_PULL_REQUEST_CLOSED)
    async def on_pull_request_closed(event: PullRequestClosed) -> None:
        await on_pull_closed(client, event)
        if event.merged:  # the base moved under Paid's other pull requests (polling hears no pushes)
            await on_base_moved(client, event.repo, settings, base=None, requested_by=event.closed_by or "")

    @subscribe("base-branch-pushed", subjects.GITHUB_BASE_BRANCH_PUSHED)
    async def on_base_branch_pushed(event: BaseBranchPushed) -> None:
        await on_base_moved(client, event.repo, settings, base=event.branch, requested_by=event.pusher)

    @subscribe("commit-status-changed", subjects.GITHUB_COMMIT_STATUS_CHANGED)
    async def on_commit_status_changed(event: CommitStatusChanged) -> None:
        await on_status(client, event, settings)

    @subscribe("check-suite-completed", subjects.GITHUB_CHECK_SUITE_COMPLETED)
    async def on_check_suite_completed(event: CheckSuiteCompleted) -> None:
        await on_check_suite(client, event, settings)
