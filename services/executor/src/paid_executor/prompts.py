"""The coding prompt: a versioned, built-in template until prompts move to evolution's registry."""

from __future__ import annotations

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

PROMPT_VERSION = "coding@1"

TEMPLATES: dict[str, str] = {
    "coding@1": """\
You are working in a git checkout of the repository {{ repo }}, on the branch {{ branch }}.
Resolve GitHub issue #{{ number }}: {{ title }}

The issue, as its author wrote it:
<issue>
{{ body }}
</issue>

Change the files in this checkout so that the issue is resolved, and keep the existing tests passing.
Make the smallest change that does it. Do not commit or push: Paid commits your changes to
{{ branch }} and opens the pull request.
""",
}

# Issue text is data, rendered into the template, never compiled as one; the sandbox is a second fence.
_environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


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
    """Renders `template` (resolved from evolution's registry) or else the built-in one of `version`."""
    if template is None:
        try:
            template = TEMPLATES[version]
        except KeyError:
            raise LookupError(f"no built-in prompt {version!r}") from None
    return _environment.from_string(template).render(
        repo=repo, branch=branch, number=number, title=title, body=(body or "").strip() or "(no description)"
    )


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
