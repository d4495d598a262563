"""Evolution's NATS handlers: runs and their late outcomes (JetStream), prompt resolution (request-reply)."""

from __future__ import annotations

import logging

from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_contracts import (
    FollowUpFinished,
    PromptResolveReply,
    PromptResolveRequest,
    PullRequestClosed,
    ReactionChanged,
    RunFinished,
    subjects,
)
from paid_evolution import experiments, repo
from paid_evolution.registry import RegistryError
from paid_runtime.subscriptions import durable_subscribers
from paid_runtime.telemetry import current_trace_id

log = logging.getLogger(__name__)


async def resolve_prompt(
    sessions: async_sessionmaker[AsyncSession], request: PromptResolveRequest
) -> PromptResolveReply:
    """The answer to `paid.prompt.resolve`: an error reply (never silence) when nothing can be resolved."""
    async with sessions() as session:
        try:
            resolved = await experiments.resolve_arm(
                session, category=request.category, project=request.project, run_key=request.run_key
            )
        except RegistryError as error:
            return PromptResolveReply(error=str(error))
    version = resolved.version
    return PromptResolveReply(
        version=version.id,
        category=request.category,
        template=version.template,
        variables=tuple(version.variables),
        content_hash=version.content_hash,
        experiment_id=resolved.experiment_id,
        arm=resolved.arm,
        agent=resolved.agent,
        model=resolved.model,
    )


def register(broker: NatsBroker, sessions: async_sessionmaker[AsyncSession]) -> None:
    subscribe = durable_subscribers(broker, "evolution")

    @subscribe("run-finished", subjects.RUN_FINISHED)
    async def on_run_finished(event: RunFinished) -> None:
        async with sessions() as session:
            added = await repo.record_run(session, event=event, trace_id=current_trace_id())
        state = "new" if added else "already known"
        log.info("run %s recorded (%s)", event.run_id, state, extra={"run_id": event.run_id})

    @subscribe("pull-request-closed", subjects.GITHUB_PULL_REQUEST_CLOSED)
    async def on_pull_request_closed(event: PullRequestClosed) -> None:
        async with sessions() as session:
            runs = await repo.record_pull_request_closed(session, event=event)
        state = "merged" if event.merged else "closed"
        log.info("%s#%d %s: re-scored runs %s", event.repo.full_name, event.number, state, runs)

    @subscribe("follow-up-finished", subjects.RUN_FOLLOW_UP_FINISHED)
    async def on_follow_up_finished(event: FollowUpFinished) -> None:
        async with sessions() as session:
            runs = await repo.record_follow_up(session, event=event)
        pull = f"{event.issue.repo.full_name}#{event.pull_request_number}"
        if runs is None:
            log.info("follow-up rounds of %s already known", pull)
        else:
            log.info("follow-up rounds of %s %s: re-scored runs %s", pull, event.rounds, runs)

    @subscribe("reaction-changed", subjects.GITHUB_REACTION_CHANGED)
    async def on_reaction_changed(event: ReactionChanged) -> None:
        async with sessions() as session:
            runs = await repo.record_reaction(session, event=event)
        if runs:
            log.info(
                "vote %s on %s#%d: re-scored %s", event.content, event.repo.full_name, event.number, runs
            )

    # Core NATS request-reply: a queue group spreads requests over replicas; the return value is the reply.
    @broker.subscriber(subjects.PROMPT_RESOLVE, queue="evolution")
    async def on_prompt_resolve(message: NatsMessage) -> PromptResolveReply:
        try:
            request = PromptResolveRequest.model_validate_json(message.body)
        except ValidationError as error:
            return PromptResolveReply(error=f"invalid {subjects.PROMPT_RESOLVE} request: {error}")
        return await resolve_prompt(sessions, request)
