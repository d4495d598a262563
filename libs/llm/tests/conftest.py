from __future__ import annotations

from collections.abc import Iterator

import pytest

from paid_llm_emulator import LLMEmulator


@pytest.fixture
def llm() -> Iterator[LLMEmulator]:
    with LLMEmulator() as emulator:
        yield emulator
