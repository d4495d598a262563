"""The pinned-text check runs while the host prepares a launch or a push (`unchanged_meanwhile`): the
guarded step waits for it, a failed check is the error the step ends with even when the preparation
failed too, and a check still running when the block ends is cancelled."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from temporalio.exceptions import ApplicationError

from paid_executor.activities import pinned_issue
from paid_executor.activities.deps import ExecutorDeps
from paid_executor.activities.pinned_issue import unchanged_meanwhile
from paid_executor.params import RunContext

DEPS = cast(ExecutorDeps, object())
RUN = cast(RunContext, object())
EDITED = ApplicationError("edited", type="IssueEditedAfterTrigger", non_retryable=True)


def slow_check(monkeypatch: pytest.MonkeyPatch, *, fails: bool, released: asyncio.Event) -> list[str]:
    log: list[str] = []

    async def check(deps: Any, run: Any) -> None:
        await released.wait()
        log.append("checked")
        if fails:
            raise EDITED

    monkeypatch.setattr(pinned_issue, "_check", check)
    return log


async def test_the_guarded_step_starts_only_after_the_check_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    released = asyncio.Event()
    log = slow_check(monkeypatch, fails=False, released=released)
    async with unchanged_meanwhile(DEPS, RUN) as unchanged:
        log.append("prepared")
        asyncio.get_running_loop().call_later(0.01, released.set)
        await unchanged.passed()
        log.append("launched")
    assert log == ["prepared", "checked", "launched"]


async def test_a_failed_check_stops_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    released = asyncio.Event()
    log = slow_check(monkeypatch, fails=True, released=released)
    released.set()

    async def launch() -> None:
        async with unchanged_meanwhile(DEPS, RUN) as unchanged:
            await unchanged.passed()
            log.append("launched")

    with pytest.raises(ApplicationError, match="edited"):
        await launch()
    assert "launched" not in log


async def test_a_failed_check_wins_over_a_failed_preparation(monkeypatch: pytest.MonkeyPatch) -> None:
    released = asyncio.Event()
    slow_check(monkeypatch, fails=True, released=released)
    released.set()

    async def prepare() -> None:
        async with unchanged_meanwhile(DEPS, RUN):
            await asyncio.sleep(0)  # the check (not waiting: released) ends here
            raise RuntimeError("the import failed")

    with pytest.raises(ApplicationError, match="edited") as raised:
        await prepare()
    assert isinstance(raised.value.__cause__, RuntimeError)


async def test_a_check_still_running_when_the_block_ends_is_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    released = asyncio.Event()
    log = slow_check(monkeypatch, fails=False, released=released)
    with pytest.raises(RuntimeError):
        async with unchanged_meanwhile(DEPS, RUN):
            raise RuntimeError("the preparation failed")
    released.set()
    await asyncio.sleep(0)
    assert log == []
