"""Group commit: which calls share a flush, what a failed flush does, and that nothing is stranded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from paid_gateway.batching import Batcher


class Recorder:
    """A flush that records its batches and can be held open, to line requests up behind it."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next = False

    async def flush(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("database went away")
        return [item * 10 for item in items]


async def test_calls_made_together_share_one_flush_and_each_gets_its_own_result() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder.flush)

    results = await asyncio.gather(*(batcher.submit(n) for n in range(5)))

    assert results == [0, 10, 20, 30, 40]
    assert recorder.batches == [[0, 1, 2, 3, 4]]


async def test_calls_arriving_during_a_flush_wait_for_the_next_one_which_takes_them_all() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    batcher = Batcher(recorder.flush)
    first = asyncio.create_task(batcher.submit(1))
    while not recorder.batches:
        await asyncio.sleep(0)

    later = [asyncio.create_task(batcher.submit(n)) for n in range(2, 6)]
    await asyncio.sleep(0.01)
    assert recorder.batches == [[1]], "nothing may join a flush already under way"
    recorder.gate.set()

    assert await first == 10
    assert [await task for task in later] == [20, 30, 40, 50]
    assert recorder.batches == [[1], [2, 3, 4, 5]]


async def test_a_batch_holds_at_most_max_batch_items() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder.flush, max_batch=3)

    await asyncio.gather(*(batcher.submit(n) for n in range(7)))

    assert recorder.batches == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batcher.recent_batch_sizes) == [3, 3, 1]


async def test_a_failed_flush_fails_its_own_calls_only() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    recorder.fail_next = True
    batcher = Batcher(recorder.flush)
    doomed = [asyncio.create_task(batcher.submit(n)) for n in (1, 2)]
    while not recorder.batches:
        await asyncio.sleep(0)
    survivor = asyncio.create_task(batcher.submit(3))
    recorder.gate.set()

    for task in doomed:
        with pytest.raises(ConnectionError, match="database went away"):
            await task
    assert await survivor == 30


async def test_on_idle_runs_when_the_queue_runs_dry_and_a_call_made_meanwhile_is_still_flushed() -> None:
    recorder = Recorder()
    idle_calls = 0
    arrivals: list[asyncio.Task[int]] = []

    async def on_idle() -> None:
        nonlocal idle_calls
        idle_calls += 1
        if idle_calls == 1:  # a request arrives while the connection is being given back
            arrivals.append(asyncio.create_task(batcher.submit(7)))
            await asyncio.sleep(0.01)

    batcher = Batcher(recorder.flush, on_idle=on_idle)

    assert await batcher.submit(1) == 10
    assert await asyncio.wait_for(arrivals[0], timeout=5) == 70
    await batcher.drain()
    assert recorder.batches == [[1], [7]]
    assert idle_calls == 2


async def test_a_caller_that_gives_up_leaves_the_others_of_its_batch_unharmed() -> None:
    recorder = Recorder()
    recorder.gate.clear()
    batcher = Batcher(recorder.flush)
    impatient = asyncio.create_task(batcher.submit(1))
    patient = asyncio.create_task(batcher.submit(2))
    while not recorder.batches:
        await asyncio.sleep(0)

    impatient.cancel()
    recorder.gate.set()

    assert await patient == 20
    assert impatient.cancelled()


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        Batcher(Recorder().flush, max_batch=0)
