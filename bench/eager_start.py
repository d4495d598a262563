#!/usr/bin/env python3
"""Temporal's part of starting a run, with and without eager workflow start: a workflow started from a
client that a worker in the same process shares, to its first activity completed, on Temporal's
development server. Starts alternate (plain, eager, plain, ...) so the machine's drift falls on both,
and each pair's difference is taken.

Prints `name value unit` lines. Usage: bench/eager_start.py [--pairs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from paid_devstack.temporal import TemporalDevServer
from paid_runtime.temporal import connect_temporal


@activity.defn
async def first_step() -> None:
    return None


@workflow.defn
class FirstStep:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(first_step, start_to_close_timeout=timedelta(seconds=30))


async def started_ms(client: Client, task_queue: str, *, eager: bool) -> tuple[float, bool]:
    began = time.perf_counter()
    handle = await client.start_workflow(
        FirstStep.run, id=f"eager-{uuid.uuid4()}", task_queue=task_queue, request_eager_start=eager
    )
    await handle.result()
    # The SDK marks a handle whose start reply carried the first workflow task (no public accessor).
    return (time.perf_counter() - began) * 1000, bool(getattr(handle, "__temporal_eagerly_started"))


async def measure(pairs: int) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="paid-bench-eager-") as home,
        TemporalDevServer(Path(home), headless=True) as temporal,
    ):
        client = await connect_temporal(temporal.target)
        task_queue = "eager-bench"
        plain: list[float] = []
        eager: list[float] = []
        granted = 0
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[FirstStep],
            activities=[first_step],
            workflow_runner=UnsandboxedWorkflowRunner(),  # nothing here to keep deterministic
        ):
            for i in range(pairs + 1):  # the first pair warms the worker up and is not counted
                order = (False, True) if i % 2 == 0 else (True, False)
                for flag in order:
                    elapsed, was_eager = await started_ms(client, task_queue, eager=flag)
                    if i > 0:
                        (eager if flag else plain).append(elapsed)
                        granted += was_eager
    saved = [before - after for before, after in zip(plain, eager, strict=True)]
    print(f"eager_start_pairs {pairs} pairs")
    print(f"eager_start_granted {granted} starts")
    print(f"eager_start_plain_p50 {statistics.median(plain):.1f} ms")
    print(f"eager_start_eager_p50 {statistics.median(eager):.1f} ms")
    print(f"eager_start_saved_paired_p50 {statistics.median(saved):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=50)
    asyncio.run(measure(parser.parse_args().pairs))


if __name__ == "__main__":
    main()
