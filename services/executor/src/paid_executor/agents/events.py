"""Reading the JSON that agent CLIs print: one object a line, fields that may be missing or of the
wrong type (agent output is untrusted), counts that must be real integers."""

from __future__ import annotations

import json
from typing import Any


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """Every line that is a JSON object; other lines (logs, progress) are skipped."""
    return [event for event in map(json_object, stdout.splitlines()) if event is not None]


def json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def mapping(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def count(document: dict[str, Any], key: str) -> int:
    value = document.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
