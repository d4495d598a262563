"""The coding prompt is paid_prompt_client's: the bundled text of the run's version, or the template
evolution resolved, rendered in its sandbox with the issue as data."""

from __future__ import annotations

import pytest

from paid_contracts import PromptCategory
from paid_executor.prompts import PROMPT_VERSION, render_prompt
from paid_prompt_client import DEFAULT_PROMPTS, PromptTemplateError

HOSTILE = "{{ 7 * 7 }} {% for i in range(3) %}loop{% endfor %} {{ ''.__class__.__mro__ }} {# x #}"


def test_the_bundled_version_renders_the_issue_verbatim() -> None:
    assert DEFAULT_PROMPTS[PromptCategory.CODING].version == PROMPT_VERSION
    text = render_prompt(
        PROMPT_VERSION, repo="acme/calc", branch="paid/4", number=4, title=HOSTILE, body=HOSTILE
    )
    assert text.count(HOSTILE) == 2
    for evaluated in ("49", "looploop", "<class"):
        assert evaluated not in text
    assert "<issue>\n" + HOSTILE + "\n</issue>" in text


def test_a_resolved_template_is_rendered_with_the_coding_variables_only() -> None:
    template = "{{ repo }} {{ number }}: {{ body }}"
    assert render_prompt(
        "coding@9", repo="a/b", branch="x", number=1, title="t", body=None, template=template
    ) == ("a/b 1: (no description)")
    with pytest.raises(PromptTemplateError):
        render_prompt("coding@9", repo="a/b", branch="x", number=1, title="t", body="", template="{{ env }}")
    with pytest.raises(LookupError, match="coding@404"):
        render_prompt("coding@404", repo="a/b", branch="x", number=1, title="t", body="")
