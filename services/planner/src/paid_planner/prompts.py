"""Versioned prompts kept as files (`prompts/<name>@<version>.md`), rendered with Jinja2."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined

PROMPTS = Path(__file__).parent / "prompts"
PLANNING = "planning@1"


@cache
def _environment() -> Environment:
    return Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)  # noqa: S701


def render(version: str, **values: Any) -> str:
    """Renders `version` (e.g. planning@1); a missing value fails loudly instead of rendering empty."""
    path = PROMPTS / f"{version}.md"
    if not path.is_file():
        raise LookupError(f"no prompt {version!r} in {PROMPTS}")
    return _environment().from_string(path.read_text()).render(**values)
