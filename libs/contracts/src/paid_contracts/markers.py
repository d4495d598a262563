"""The hidden HTML comment that marks everything Paid writes on GitHub (comments, PR bodies, sub-issues).

Defined once: writers build their markers with `paid_marker`, readers recognize Paid's own text
with `written_by_paid`, so no service ever takes Paid's writing for a person's.
"""

from __future__ import annotations

PAID_MARKER_PREFIX = "<!-- paid:"


def paid_marker(key: str) -> str:
    """The prefix, `key`, then ` -->`; `key` names what the text is for (a run, a plan's comment, a task)."""
    return f"{PAID_MARKER_PREFIX}{key} -->"


def written_by_paid(body: str | None) -> bool:
    return PAID_MARKER_PREFIX in (body or "")
