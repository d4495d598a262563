"""The coding prompt: the template evolution resolved for the run (or the bundled one of its version),
rendered by paid_prompt_client's one sandboxed environment with the coding category's variables."""

from __future__ import annotations

from paid_contracts import PromptCategory
from paid_prompt_client import CATEGORY_VARIABLES, DEFAULT_PROMPTS, bundled_prompt, render_template

PROMPT_VERSION = DEFAULT_PROMPTS[PromptCategory.CODING].version


def render_prompt(
    version: str,
    *,
    repo: str,
    branch: str,
    number: int,
    title: str,
    body: str | None,
    template: str | None = None,
) -> str:
    """Renders `template` (resolved from evolution's registry) or else the bundled one of `version`.
    LookupError for an unknown version, PromptTemplateError for a template that does not render."""
    if template is None:
        template = bundled_prompt(version).template
    values = {
        "repo": repo,
        "branch": branch,
        "number": number,
        "title": title,
        "body": (body or "").strip() or "(no description)",
    }
    return render_template(template, CATEGORY_VARIABLES[PromptCategory.CODING], values)


FEEDBACK_LIMIT = 12_000


def iteration_prompt(
    base: str, *, iteration: int, feedback: str | None, instructions: tuple[str, ...]
) -> str:
    """The first prompt, then only what the previous attempt left failing and what the operator added."""
    parts = [base]
    if feedback:
        parts.append(
            f"\nThis is attempt {iteration}. Your changes so far are still in the checkout, but these "
            f"checks fail; fix them:\n<failures>\n{feedback[-FEEDBACK_LIMIT:]}\n</failures>\n"
        )
    if instructions:
        lines = "\n".join(f"- {instruction}" for instruction in instructions)
        parts.append(f"\nInstructions from the operator, to follow now:\n{lines}\n")
    return "".join(parts)
