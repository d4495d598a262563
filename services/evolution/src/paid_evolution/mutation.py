"""Reflective mutation (after GEPA): show a model the prompt and what went wrong in the runs that used it,
ask for improved versions. The generator is a narrow protocol, so the workflow does not care which
model (or which test double) writes them."""

from __future__ import annotations

import re
from typing import Protocol

from paid_contracts import PromptCategory
from paid_evolution.params import MutationInput
from paid_prompt_client import DEFAULT_PROMPTS, render_template

_PROMPT_BLOCK = re.compile(r"<prompt>\s*(.*?)\s*</prompt>", re.DOTALL)


class MutationGenerator(Protocol):
    async def generate(self, request: MutationInput) -> list[str]:
        """Up to `request.count` new templates (not yet validated: the registry checks them)."""
        ...


def reflection_prompt(request: MutationInput) -> str:
    """The mutation prompt, itself a category in the registry (the bundled mutation@1 when none is given)."""
    mutation = DEFAULT_PROMPTS[PromptCategory.MUTATION]
    feedback = "\n".join(f"- {line}" for line in request.feedback) or "- (no failed run left feedback)"
    return render_template(
        request.mutation_template or mutation.template,
        mutation.variables,
        {
            "category": request.category.value,
            "template": request.template,
            "variables": ", ".join(request.variables),
            "feedback": feedback,
            "count": request.count,
        },
    )


def parse_mutations(text: str, *, limit: int) -> list[str]:
    """The templates between <prompt> tags, in order, without duplicates; a trailing newline kept."""
    found: list[str] = []
    for block in _PROMPT_BLOCK.findall(text):
        template = block.strip() + "\n"
        if block.strip() and template not in found:
            found.append(template)
    return found[:limit]


class NoMutations:
    """The generator of a deployment without a language model: evolution observes, never mutates."""

    async def generate(self, request: MutationInput) -> list[str]:
        return []
