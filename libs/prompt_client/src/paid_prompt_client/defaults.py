"""The prompts Paid ships: evolution seeds its registry with them, clients fall back to them."""

from __future__ import annotations

from dataclasses import dataclass

from paid_contracts import PromptCategory

# The values each caller passes when it renders a category's prompt: a version may use any subset.
CATEGORY_VARIABLES: dict[PromptCategory, tuple[str, ...]] = {
    PromptCategory.CODING: ("repo", "branch", "number", "title", "body"),
    PromptCategory.PLANNING: ("repo", "number", "title", "body"),
    PromptCategory.REVIEW: ("repo", "number", "title", "body", "diff"),
    PromptCategory.FIX_CI: ("repo", "branch", "number", "title", "body", "ci_log"),
    PromptCategory.MUTATION: ("category", "template", "variables", "feedback", "count"),
}


@dataclass(frozen=True)
class DefaultPrompt:
    version: str
    category: PromptCategory
    template: str
    variables: tuple[str, ...]


CODING_1 = """\
You are working in a git checkout of the repository {{ repo }}, on the branch {{ branch }}.
Resolve GitHub issue #{{ number }}: {{ title }}

The issue, as its author wrote it:
<issue>
{{ body }}
</issue>

Change the files in this checkout so that the issue is resolved, and keep the existing tests passing.
Make the smallest change that does it. Do not commit or push: Paid commits your changes to
{{ branch }} and opens the pull request.
"""

PLANNING_1 = """\
You plan work on the repository {{ repo }}. Split GitHub issue #{{ number }} into small tasks, each of
which one pull request can resolve on its own, in the order they can be done.

Issue #{{ number }}: {{ title }}
<issue>
{{ body }}
</issue>

For each task give a title, a description a developer can act on without reading the others, and the
titles of the tasks it depends on. When the issue is unclear, ask the questions that block planning
instead of guessing.
"""

MUTATION_1 = """\
You improve prompt templates for AI agents from evidence. Below is the current {{ category }} prompt
(a Jinja2 template whose variables are {{ variables }}), then feedback from runs that used it and failed.

<template>
{{ template }}
</template>

<feedback>
{{ feedback }}
</feedback>

Reflect on what in the prompt led to these failures, then write {{ count }} improved versions of the
template. Keep every variable in double braces exactly as named; add no new ones. Return each version
between <prompt> and </prompt>, nothing else.
"""

DEFAULT_PROMPTS: dict[PromptCategory, DefaultPrompt] = {
    PromptCategory.CODING: DefaultPrompt(
        "coding@1", PromptCategory.CODING, CODING_1, ("repo", "branch", "number", "title", "body")
    ),
    PromptCategory.PLANNING: DefaultPrompt(
        "planning@1", PromptCategory.PLANNING, PLANNING_1, ("repo", "number", "title", "body")
    ),
    PromptCategory.MUTATION: DefaultPrompt(
        "mutation@1",
        PromptCategory.MUTATION,
        MUTATION_1,
        ("category", "template", "variables", "feedback", "count"),
    ),
}


def default_prompt(category: PromptCategory) -> DefaultPrompt:
    try:
        return DEFAULT_PROMPTS[category]
    except KeyError:
        raise LookupError(f"Paid ships no default {category.value} prompt") from None
