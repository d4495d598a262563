#!/usr/bin/env python3
"""The admission step's cost when there is room: a workflow started eagerly (as the executor starts runs)
to its first activity started, with and without the executor's admission gate before it (a local
activity: one transaction on the admission queue in PostgreSQL, no extra round trip to Temporal).
Starts alternate (plain, gated, gated, plain, ...) so the machine's drift falls on both, and each pair's
difference is taken. Temporal's development server and an embedded PostgreSQL.

Prints `name value unit` lines. Usage: bench/admission_cost.py [--pairs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from faststream.nats import NatsBroker
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from paid_contracts import IssueRef, RepoRef
from paid_devstack.temporal import TemporalDevServer
from paid_devstack.test_servers import scratch_postgres
from paid_executor.activities import make_deps
from paid_executor.activities.admission import AdmissionActivities
from paid_executor.admission_gate import AdmissionGate
from paid_executor.config import ExecutorSettings
from paid_executor.params import ExecutionInput
from paid_runtime.database import make_engine, migrate, session_factory
from paid_runtime.temporal import connect_temporal

MIGRATIONS = Path(__file__).resolve().parents[1] / "services/executor/src/paid_executor/migrations"
FIRST_STEP_AT: dict[str, float] = {}


@activity.defn
async def first_step() -> None:
    FIRST_STEP_AT[activity.info().workflow_id] = time.perf_counter()


@workflow.defn
class Plain:
    @workflow.run
    async def run(self, request: ExecutionInput) -> None:
        await workflow.execute_activity(first_step, start_to_close_timeout=timedelta(seconds=30))


@workflow.defn
class Gated(AdmissionGate):
    @workflow.run
    async def run(self, request: ExecutionInput) -> None:
        await self._await_admission(request)
        await workflow.execute_activity(first_step, start_to_close_timeout=timedelta(seconds=30))
        await self._release_admission()


async def to_first_step_ms(client: Client, task_queue: str, *, gated: bool) -> tuple[float, bool]:
    workflow_id = f"bench-{uuid.uuid4()}"
    request = ExecutionInput(
        issue=IssueRef(repo=RepoRef(owner="bench", name=workflow_id[-12:]), number=1),
        source="bench",
        source_id=workflow_id,
    )
    began = time.perf_counter()
    handle = await client.start_workflow(
        Gated.run if gated else Plain.run,
        request,
        id=workflow_id,
        task_queue=task_queue,
        request_eager_start=True,
    )
    await handle.result()  # the gated run has released its slot before the next start
    eager = bool(getattr(handle, "__temporal_eagerly_started"))
    return (FIRST_STEP_AT.pop(workflow_id) - began) * 1000, eager


async def measure(pairs: int) -> None:
    with (
        TemporaryDirectory(prefix="paid-bench-admission-") as home,
        TemporalDevServer(Path(home), headless=True) as temporal,
        scratch_postgres("bench-admission") as postgres,
    ):
        engine = make_engine(postgres.url)
        await migrate(engine, schema="executor", migrations_dir=MIGRATIONS)
        settings = ExecutorSettings()
        admission = AdmissionActivities(make_deps(settings, NatsBroker(), session_factory(engine)))
        client = await connect_temporal(temporal.target)
        plain: list[float] = []
        gated: list[float] = []
        eager = 0
        async with Worker(
            client,
            task_queue="admission-bench",
            workflows=[Plain, Gated],
            activities=[first_step, admission.admit_run, admission.release_run],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            for i in range(pairs + 1):  # the first pair warms up and is not counted
                for flag in (False, True) if i % 2 == 0 else (True, False):
                    elapsed, was_eager = await to_first_step_ms(client, "admission-bench", gated=flag)
                    if i > 0:
                        (gated if flag else plain).append(elapsed)
                        eager += was_eager
        await engine.dispose()
    added = [after - before for before, after in zip(plain, gated, strict=True)]
    print(f"admission_pairs {pairs} pairs")
    print(f"admission_eager_starts {eager} starts")
    print(f"admission_plain_to_first_step_p50 {statistics.median(plain):.1f} ms")
    print(f"admission_gated_to_first_step_p50 {statistics.median(gated):.1f} ms")
    print(f"admission_added_paired_p50 {statistics.median(added):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=50)
    asyncio.run(measure(parser.parse_args().pairs))


if __name__ == "__main__":
    main()
