"""Sandboxed rendering with declared variables."""

from __future__ import annotations

import pytest

from paid_contracts import PromptCategory
from paid_prompt_client import (
    CATEGORY_VARIABLES,
    DEFAULT_PROMPTS,
    PromptTemplateError,
    referenced_variables,
    render_template,
    validate_template,
)


def test_every_bundled_prompt_declares_exactly_what_it_uses_and_what_callers_provide() -> None:
    for category, prompt in DEFAULT_PROMPTS.items():
        validate_template(prompt.template, prompt.variables, allowed=CATEGORY_VARIABLES[category])
        assert prompt.version == f"{category.value}@1"


def test_the_bundled_coding_prompt_renders_the_issue_as_data() -> None:
    prompt = DEFAULT_PROMPTS[PromptCategory.CODING]
    text = render_template(
        prompt.template,
        prompt.variables,
        {"repo": "acme/calc", "branch": "paid/issue-3", "number": 3, "title": "t", "body": "{{ 7 * 7 }}"},
    )
    assert "GitHub issue #3: t" in text
    assert "{{ 7 * 7 }}" in text  # issue text is never compiled
    assert "49" not in text


def test_a_missing_value_is_an_error_and_extra_values_are_ignored() -> None:
    with pytest.raises(PromptTemplateError, match="no value for declared variables: \\['title'\\]"):
        render_template("{{ repo }} {{ title }}", ("repo", "title"), {"repo": "a/b"})
    assert render_template("{{ repo }}", ("repo",), {"repo": "a/b", "unused": 1}) == "a/b"


def test_the_sandbox_refuses_to_reach_python_internals() -> None:
    template = "{{ repo.__class__.__mro__[1].__subclasses__() }}"
    assert referenced_variables(template) == {"repo"}
    with pytest.raises(PromptTemplateError, match="failed to render"):
        render_template(template, ("repo",), {"repo": "a/b"})


def test_undeclared_use_is_caught_before_render() -> None:
    with pytest.raises(PromptTemplateError, match="undeclared"):
        validate_template("{{ repo }} {{ token }}", ("repo",))
