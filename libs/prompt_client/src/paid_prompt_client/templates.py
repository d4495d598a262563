"""Prompt templates are data: Jinja2 in a sandbox, every variable declared, none undefined at render."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

# Values (issue text) are data rendered into the template, never compiled as one; the sandbox stops a
# template (an LLM-written mutation, say) from reaching Python internals.
_environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class PromptTemplateError(ValueError):
    """A template that does not compile, uses undeclared variables, or lacks values at render."""


def content_hash(template: str) -> str:
    return hashlib.sha256(template.encode()).hexdigest()


def referenced_variables(template: str) -> frozenset[str]:
    try:
        parsed = _environment.parse(template)
    except TemplateSyntaxError as error:
        raise PromptTemplateError(
            f"template does not compile (line {error.lineno}): {error.message}"
        ) from None
    return frozenset(meta.find_undeclared_variables(parsed))


def validate_template(
    template: str, declared: Iterable[str], *, allowed: Iterable[str] | None = None
) -> None:
    """The template compiles and uses exactly its declared variables (a subset of `allowed` if given)."""
    declared_set = set(declared)
    used = referenced_variables(template)
    if undeclared := used - declared_set:
        raise PromptTemplateError(f"template uses undeclared variables: {sorted(undeclared)}")
    if unused := declared_set - used:
        raise PromptTemplateError(f"declared variables the template never uses: {sorted(unused)}")
    if allowed is not None and (unknown := declared_set - set(allowed)):
        raise PromptTemplateError(f"variables the caller never provides: {sorted(unknown)}")


def render_template(template: str, declared: Iterable[str], values: Mapping[str, object]) -> str:
    """Renders with exactly the declared variables; a missing one is an error, extra values are ignored."""
    names = set(declared)
    if missing := names - set(values):
        raise PromptTemplateError(f"no value for declared variables: {sorted(missing)}")
    try:
        return _environment.from_string(template).render({name: values[name] for name in names})
    except TemplateSyntaxError as error:
        raise PromptTemplateError(
            f"template does not compile (line {error.lineno}): {error.message}"
        ) from None
    except Exception as error:  # StrictUndefined, sandbox SecurityError: the template is at fault
        raise PromptTemplateError(f"template failed to render: {error}") from None
