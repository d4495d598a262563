"""The prompts Paid ships: evolution seeds its registry with them, clients fall back to them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from paid_contracts import PromptCategory

# The values each caller passes when it renders a category's prompt: a version may use any subset.
CATEGORY_VARIABLES: dict[PromptCategory, tuple[str, ...]] = {
    PromptCategory.CODING: ("repo", "branch", "number", "title", "body"),
    PromptCategory.PLANNING: (
        "repo",
        "default_branch",
        "number",
        "title",
        "body",
        "tree",
        "tree_truncated",
        "files",
        "answers",
        "max_tasks",
    ),
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


PROMPTS_DIR = Path(__file__).parent / "prompts"


def _bundled(version: str) -> str:
    return (PROMPTS_DIR / f"{version}.md").read_text()


# The only copy of each bundled prompt: services render them through this package, never from their own.
CODING_1, PLANNING_1, MUTATION_1 = _bundled("coding@1"), _bundled("planning@1"), _bundled("mutation@1")

DEFAULT_PROMPTS: dict[PromptCategory, DefaultPrompt] = {
    PromptCategory.CODING: DefaultPrompt(
        "coding@1", PromptCategory.CODING, CODING_1, ("repo", "branch", "number", "title", "body")
    ),
    PromptCategory.PLANNING: DefaultPrompt(
        "planning@1",
        PromptCategory.PLANNING,
        PLANNING_1,
        (
            "answers",
            "body",
            "default_branch",
            "files",
            "max_tasks",
            "number",
            "repo",
            "title",
            "tree",
            "tree_truncated",
        ),
    ),
    PromptCategory.MUTATION: DefaultPrompt(
        "mutation@1",
        PromptCategory.MUTATION,
        MUTATION_1,
        ("category", "template", "variables", "feedback", "count"),
    ),
}


def bundled_prompt(version: str) -> DefaultPrompt:
    """The bundled prompt of `version` (e.g. coding@1), for runs that recorded a version but no template."""
    for prompt in DEFAULT_PROMPTS.values():
        if prompt.version == version:
            return prompt
    raise LookupError(f"Paid ships no prompt {version!r}")


def default_prompt(category: PromptCategory) -> DefaultPrompt:
    try:
        return DEFAULT_PROMPTS[category]
    except KeyError:
        raise LookupError(f"Paid ships no default {category.value} prompt") from None
