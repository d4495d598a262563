"""Real agent CLIs in tests: skipped where one is not installed, but never in CI, which installs every
one (scripts/test stops when an install fails), so a CI run cannot pass without driving them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def requires_cli(executable: Path, reason: str) -> pytest.MarkDecorator:
    if executable.exists():
        return pytest.mark.skipif(False, reason="installed")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {executable} is missing; {reason}", pytrace=False)
    return pytest.mark.skip(reason=reason)
