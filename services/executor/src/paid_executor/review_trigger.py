"""What starts review mode: the review label on a pull request (ReviewRequested, from the one
translator) or a trusted user's `/paid review` comment on one (comment_commands.py).

Trust boundary: the requester must have write access (or be on `trusted_reviewers`), the check every
trigger shares; an untrusted request starts nothing. The head is pinned at the trigger: the labeled
payload's head, or, for a command, the head when the executor reads the pull request on receiving it
(seconds after the comment; a push in between is what is then pinned, the command's limit). The
review workflow fetches that commit or nothing, so a head pushed after the trigger is never what is
reviewed, and its id (pull request and head) makes a repeated request the same review."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from paid_contracts import RepoRef, ReviewRequested, subjects
from paid_contracts.workflow_ids import review_mode_workflow_id
from paid_executor.config import ExecutorSettings
from paid_executor.review_workflow import ReviewModeInput, ReviewModeWorkflow
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredentials
from paid_runtime.github_trust import GitHubUnavailableError, decide_trust, github_client
from paid_runtime.subscriptions import durable_subscribers

log = logging.getLogger(__name__)


def review_input(
    settings: ExecutorSettings,
    *,
    repo: RepoRef,
    number: int,
    head_sha: str,
    requested_by: str,
    trigger_id: str,
) -> ReviewModeInput:
    return ReviewModeInput(
        repo=repo,
        number=number,
        head_sha=head_sha,
        requested_by=requested_by,
        trigger_id=trigger_id,
        agent=settings.agent,
        sandbox=settings.sandbox,
        agent_timeout_seconds=settings.agent_timeout_seconds,
        max_tokens=settings.run_max_tokens,
        max_cost_usd=settings.run_max_cost_usd,
    )


async def start_review(client: Client, request: ReviewModeInput, *, task_queue: str) -> str:
    """The review workflow of the pull request at its pinned head, started once: a second request for
    the same head finds the first (running or done) and starts nothing."""
    workflow_id = review_mode_workflow_id(request.repo.full_name, request.number, request.head_sha)
    try:
        await client.start_workflow(
            ReviewModeWorkflow.run,
            request,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:
        log.info("%s was reviewed already; %s starts nothing", workflow_id, request.trigger_id)
    return workflow_id


async def on_review_requested(
    client: Client, event: ReviewRequested, settings: ExecutorSettings, credentials: GitHubCredentials
) -> str | None:
    """The review workflow's id when the labeler may ask for a review, else None."""
    repo = event.repo
    try:
        credential = await credentials.for_repository(repo.full_name, "trust")
    except CredentialUnavailable as error:
        if not error.permanent:
            raise GitHubUnavailableError(error.reason) from None  # redelivered: the minter may answer
        log.info("review of %s#%s not started: %s", repo.full_name, event.number, error.reason)
        return None
    async with github_client(settings.github_api_url, credential.token) as github:
        trust = await decide_trust(
            github,
            owner=repo.owner,
            name=repo.name,
            login=event.requested_by,
            allowlist=settings.trusted_reviewers,
        )
    if not trust.trusted:
        log.info("review of %s#%s not started: %s", repo.full_name, event.number, trust.reason)
        return None
    request = review_input(
        settings,
        repo=repo,
        number=event.number,
        head_sha=event.head_sha,
        requested_by=event.requested_by,
        trigger_id=event.event_id,
    )
    return await start_review(client, request, task_queue=settings.task_queue)


def register_review_mode(
    broker: NatsBroker, client: Client, settings: ExecutorSettings, credentials: GitHubCredentials
) -> None:
    subscribe = durable_subscribers(broker, "executor")

    @subscribe("review-requested", subjects.GITHUB_REVIEW_REQUESTED)
    async def on_review_requested_event(event: ReviewRequested) -> None:
        await on_review_requested(client, event, settings, credentials)
