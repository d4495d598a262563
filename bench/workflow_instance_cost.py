"""What one cached workflow instance costs the worker, by workflow runner: memory and CPU to build it.

A worker keeps every run it holds in its workflow cache, one instance each; 1,000 waiting runs are
1,000 instances. Under Temporal's sandbox (the executor's runner), building one re-imports the
workflow's module inside a fresh sandbox: from its bytecode where a .pyc exists (the images compile
it, UV_COMPILE_BYTECODE=1), else from source (a dev checkout with PYTHONDONTWRITEBYTECODE=1).
Each runner builds N AgentExecutionWorkflow instances in its own child process (RSS is per process),
the runners alternating over rounds so that a loaded machine weighs on each alike; `--pycache DIR`
(compiled beforehand with `PYTHONPYCACHEPREFIX=DIR python -m compileall`) adds the sandbox with bytecode.

Prints `name value unit` lines. Usage: bench/workflow_instance_cost.py [--instances N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys

from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

RUNNERS = ("sandboxed", "unsandboxed")


def runner_named(name: str) -> WorkflowRunner:
    runners: dict[str, type[WorkflowRunner]] = {
        "sandboxed": SandboxedWorkflowRunner,
        "unsandboxed": UnsandboxedWorkflowRunner,
    }
    return runners[name]()


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4


async def build(name: str, instances: int) -> dict[str, float]:
    """In the child: builds `instances` instances, as the runner's own validation does (fake info); an
    instance binds itself to the running event loop, hence async."""
    import dataclasses
    import gc
    import time

    from temporalio import workflow
    from temporalio.api.common.v1 import Payloads
    from temporalio.api.failure.v1 import Failure
    from temporalio.converter import DataConverter
    from temporalio.worker import WorkflowInstanceDetails
    from temporalio.worker.workflow_sandbox._runner import _fake_info

    from paid_executor.workflows import AgentExecutionWorkflow

    runner = runner_named(name)
    defn = workflow._Definition.must_from_class(AgentExecutionWorkflow)
    runner.prepare_workflow(defn)
    details = WorkflowInstanceDetails(
        payload_converter_factory=DataConverter.default._new_payload_converter,
        failure_converter_class=DataConverter.default.failure_converter_class,
        interceptor_classes=[],
        defn=defn,
        info=_fake_info,
        randomness_seed=-1,
        extern_functions={},
        disable_eager_activity_execution=False,
        worker_level_failure_exception_types=[],
        patch_activation_callback=None,
        last_completion_result=Payloads(),
        last_failure=Failure(),
    )
    held = [runner.create_instance(dataclasses.replace(details))]  # warm: first-time imports
    gc.collect()
    before, began = rss_kib(), time.process_time()
    held += [runner.create_instance(dataclasses.replace(details)) for _ in range(instances)]
    cpu = time.process_time() - began
    gc.collect()
    return {"kib": (rss_kib() - before) / instances, "cpu_ms": cpu / instances * 1000, "held": len(held)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pycache", help="a PYTHONPYCACHEPREFIX holding compiled bytecode")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(build(args.child, args.instances))))
        return
    variants: dict[str, tuple[str, dict[str, str]]] = {name: (name, {}) for name in RUNNERS}
    if args.pycache:
        variants["sandboxed_bytecode"] = ("sandboxed", {"PYTHONPYCACHEPREFIX": args.pycache})
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for label, (name, env) in variants.items():
            command = [sys.executable, __file__, "--child", name, "--instances", str(args.instances)]
            run = subprocess.run(
                command, check=True, capture_output=True, text=True, env={**os.environ, **env}
            )
            figures[label].append(json.loads(run.stdout))
    for name, rounds in figures.items():
        kib = statistics.median(r["kib"] for r in rounds)
        cpu = statistics.median(r["cpu_ms"] for r in rounds)
        print(f"workflow_instance_rss{{runner={name}}} {kib:.0f} KiB")
        print(f"workflow_instance_cpu{{runner={name}}} {cpu:.2f} ms")


if __name__ == "__main__":
    main()
