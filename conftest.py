"""The heavy suite: tests marked `heavy` are the long forms of scenarios whose short form is in the
default run. They run only under `scripts/test-heavy` (which sets PAID_HEAVY=1)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PAID_HEAVY") == "1":
        return
    skip = pytest.mark.skip(reason="heavy suite: run scripts/test-heavy")
    for item in items:
        if item.get_closest_marker("heavy"):
            item.add_marker(skip)
