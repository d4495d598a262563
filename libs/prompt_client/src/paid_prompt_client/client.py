"""Asks evolution which prompt a run uses; caches answers and falls back safely when it is silent.

Usage (in an activity, never in workflow code):

    prompts = PromptClient(broker.connection)           # a connected nats-py client
    prompt = await prompts.resolve(PromptCategory.CODING, project="acme/calc", run_key=workflow_id)
    text = prompt.render(repo=..., branch=..., number=..., title=..., body=...)
    # record prompt.version as the run's prompt_version
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

from nats.aio.client import Client as Nats
from nats.errors import Error as NatsError
from pydantic import ValidationError

from paid_contracts import PromptCategory, PromptResolveReply, PromptResolveRequest, subjects
from paid_prompt_client.defaults import default_prompt
from paid_prompt_client.templates import PromptTemplateError, render_template, validate_template

log = logging.getLogger(__name__)

Source = Literal["evolution", "cache", "last-known", "bundled"]


@dataclass(frozen=True)
class ResolvedPrompt:
    version: str
    category: PromptCategory
    template: str
    variables: tuple[str, ...]
    source: Source
    experiment_id: str | None = None
    arm: str | None = None
    agent: str | None = None  # the arm's agent and model, when the arm is one (None: the run's own)
    model: str | None = None

    def render(self, **values: object) -> str:
        return render_template(self.template, self.variables, values)


class PromptClient:
    """One per process. `timeout` bounds how long a run waits for evolution before using a fallback."""

    def __init__(self, nats: Nats, *, timeout: float = 1.0, ttl_seconds: float = 300.0) -> None:
        self._nats = nats
        self._timeout = timeout
        self._ttl = ttl_seconds
        self._by_run: dict[tuple[PromptCategory, str, str], tuple[float, ResolvedPrompt]] = {}
        self._last_active: dict[tuple[PromptCategory, str], ResolvedPrompt] = {}

    async def resolve(self, category: PromptCategory, *, project: str, run_key: str) -> ResolvedPrompt:
        """Never raises for evolution's absence: a retried run gets its cached answer, else the project's
        last known active version, else the bundled default (LookupError only if none exists)."""
        key = (category, project, run_key)
        cached = self._by_run.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return _with_source(cached[1], "cache")
        request = PromptResolveRequest(category=category, project=project, run_key=run_key)
        try:
            message = await self._nats.request(
                subjects.PROMPT_RESOLVE, request.model_dump_json().encode(), timeout=self._timeout
            )
            reply = PromptResolveReply.model_validate_json(message.data)
            resolved = _from_reply(category, reply)
        except (NatsError, TimeoutError, ValidationError, PromptTemplateError, ValueError) as error:
            log.warning(
                "prompt %s for %s not resolved by evolution (%s): falling back", category, project, error
            )
            return self._fallback(category, project)
        self._by_run[key] = (now, resolved)
        if resolved.experiment_id is None:
            self._last_active[(category, project)] = resolved
        return resolved

    def _fallback(self, category: PromptCategory, project: str) -> ResolvedPrompt:
        if (known := self._last_active.get((category, project))) is not None:
            return _with_source(known, "last-known")
        bundled = default_prompt(category)
        return ResolvedPrompt(bundled.version, category, bundled.template, bundled.variables, "bundled")


def _from_reply(category: PromptCategory, reply: PromptResolveReply) -> ResolvedPrompt:
    if reply.error is not None:
        raise ValueError(f"evolution answered with an error: {reply.error}")
    if reply.category is not category or not reply.version:
        raise ValueError(f"evolution answered for {reply.category} {reply.version!r}, not {category}")
    validate_template(reply.template, reply.variables)
    return ResolvedPrompt(
        reply.version,
        category,
        reply.template,
        reply.variables,
        "evolution",
        reply.experiment_id,
        reply.arm,
        reply.agent,
        reply.model,
    )


def _with_source(prompt: ResolvedPrompt, source: Source) -> ResolvedPrompt:
    return ResolvedPrompt(
        prompt.version,
        prompt.category,
        prompt.template,
        prompt.variables,
        source,
        prompt.experiment_id,
        prompt.arm,
        prompt.agent,
        prompt.model,
    )
