"""Waiting for dependencies at startup: retried until they answer, or the error once the deadline passes."""

from __future__ import annotations

import pytest

from paid_runtime.startup import until_available


async def test_a_dependency_that_comes_up_is_waited_for() -> None:
    attempts: list[int] = []

    async def connect() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError("not yet")
        return "connected"

    assert await until_available("thing", connect, deadline_seconds=10) == "connected"
    assert len(attempts) == 3


async def test_a_dependency_that_never_comes_up_fails_with_its_own_error() -> None:
    async def connect() -> str:
        raise ConnectionRefusedError("still down")

    with pytest.raises(ConnectionRefusedError, match="still down"):
        await until_available("thing", connect, deadline_seconds=0.5)
