"""Reflective mutation with a language model, through the LLM layer (paid_llm): the one metered path."""

from __future__ import annotations

import logging

from temporalio.exceptions import ApplicationError

from paid_evolution.mutation import parse_mutations, reflection_prompt
from paid_evolution.params import MutationInput
from paid_llm import ChatRequest, LLMClient, LLMError, Message

log = logging.getLogger(__name__)

SYSTEM = (
    "You improve the prompts Paid gives its AI agents. You are shown a prompt template and what went wrong "
    "in runs that used it. Answer only with the improved templates, each between <prompt> and </prompt>."
)


class LlmMutationGenerator:
    """Asks the model for `count` variants with the registry's mutation prompt (mutation@N), parses them.

    A retryable model failure (rate limit, overload, timeout) propagates, so the activity's retry policy
    tries again; a permanent one (bad request, authentication) fails the activity for good.
    """

    def __init__(self, client: LLMClient, *, max_tokens: int = 8000, temperature: float | None = 0.7) -> None:
        self._client = client
        self._max_tokens = max_tokens
        self._temperature = temperature

    async def generate(self, request: MutationInput) -> list[str]:
        prompt = reflection_prompt(request)
        chat = ChatRequest(
            system=SYSTEM,
            messages=(Message(role="user", content=prompt),),
            max_tokens=self._max_tokens,
            temperature=self._temperature,
        )
        try:
            completion = await self._client.complete(chat)
        except LLMError as error:
            if error.retryable:
                raise
            raise ApplicationError(
                f"the model refused the mutation request: {error}", non_retryable=True
            ) from error
        log.info(
            "mutations of %s: %d input and %d output tokens, cost %s USD",
            request.parent_version,
            completion.usage.input_tokens,
            completion.usage.output_tokens,
            completion.cost_usd,
        )
        return parse_mutations(completion.text, limit=request.count)
