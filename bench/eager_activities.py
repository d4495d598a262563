#!/usr/bin/env python3
"""Temporal's part of each step before a run's agent, with and without eager activity execution: a
workflow of three activities one after the other (as fetch_issue, prepare_workspace and the agent's
activity follow one another), on Temporal's development server started as the dev stack starts it
(`system.enableActivityEagerExecution` on). Two workers, one that asks for its activities eagerly (the
SDK's default) and one that does not; runs alternate between them (plain, eager, eager, plain, ...)
so the machine's drift falls on both, and each pair's difference is taken.

Prints `name value unit` lines. Usage: bench/eager_activities.py [--pairs N] [--server-eager on|off]
(`off`: the server as it ships, which never grants an activity eagerly; both workers then poll).
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

STEPS = 3


@activity.defn
async def step() -> None:
    return None


@workflow.defn
class Steps:
    @workflow.run
    async def run(self) -> None:
        for _ in range(STEPS):
            await workflow.execute_activity(step, start_to_close_timeout=timedelta(seconds=30))


async def run_ms(client: Client, task_queue: str) -> float:
    began = time.perf_counter()
    await client.execute_workflow(Steps.run, id=f"steps-{uuid.uuid4()}", task_queue=task_queue)
    return (time.perf_counter() - began) * 1000


def worker(client: Client, task_queue: str, *, eager: bool) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[Steps],
        activities=[step],
        workflow_runner=UnsandboxedWorkflowRunner(),  # nothing here to keep deterministic
        disable_eager_activity_execution=not eager,
    )


async def measure(pairs: int, *, server_eager: bool) -> None:
    flag = {"system.enableActivityEagerExecution": server_eager}
    with (
        tempfile.TemporaryDirectory(prefix="paid-bench-eager-activities-") as home,
        TemporalDevServer(Path(home), headless=True, dynamic_config=flag) as temporal,
    ):
        client = await connect_temporal(temporal.target)
        plain: list[float] = []
        eager: list[float] = []
        async with worker(client, "plain", eager=False), worker(client, "eager", eager=True):
            for i in range(pairs + 1):  # the first pair warms the workers up and is not counted
                order = ("plain", "eager") if i % 2 == 0 else ("eager", "plain")
                for queue in order:
                    elapsed = await run_ms(client, queue)
                    if i > 0:
                        (eager if queue == "eager" else plain).append(elapsed)
    saved = [before - after for before, after in zip(plain, eager, strict=True)]
    print(f"eager_activities_server_eager {'on' if server_eager else 'off'} flag")
    print(f"eager_activities_pairs {pairs} pairs")
    print(f"eager_activities_steps {STEPS} activities")
    print(f"eager_activities_plain_p50 {statistics.median(plain):.1f} ms")
    print(f"eager_activities_eager_p50 {statistics.median(eager):.1f} ms")
    print(f"eager_activities_saved_paired_p50 {statistics.median(saved):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--server-eager", choices=("on", "off"), default="on")
    args = parser.parse_args()
    asyncio.run(measure(args.pairs, server_eager=args.server_eager == "on"))


if __name__ == "__main__":
    main()
