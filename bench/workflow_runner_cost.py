"""What the workflow sandbox costs the worker: CPU per replay of a recorded run, by workflow runner.

Each new run, and each run evicted from the worker's workflow cache when it next wakes, is a replay.
The runners alternate in one process, so that a loaded machine weighs on each alike. Replaying the
recorded AgentExecutionWorkflow history of a whole run: Temporal's sandbox as the executor runs it
(re-imports the workflow's module for each instance, and checks what the workflow calls), the sandbox
with every module passed through (the checks only), and no sandbox.

Prints `name value unit` lines. Usage: bench/workflow_runner_cost.py [--rounds N] [--replays R]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from paid_executor.workflows import AgentExecutionWorkflow

HISTORY = Path(__file__).parents[1] / "services/executor/tests/histories/succeeded_alongside.json"
RUNNERS: dict[str, WorkflowRunner] = {
    "sandboxed": SandboxedWorkflowRunner(),
    "sandboxed_passthrough_all": SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
    ),
    "unsandboxed": UnsandboxedWorkflowRunner(),
}


async def measure(rounds: int, replays: int) -> None:
    history = WorkflowHistory.from_json("recorded", HISTORY.read_text())
    replayers = {
        name: Replayer(
            workflows=[AgentExecutionWorkflow], data_converter=pydantic_data_converter, workflow_runner=runner
        )
        for name, runner in RUNNERS.items()
    }
    for replayer in replayers.values():
        await replayer.replay_workflow(history)  # warm: the first replay imports
    cpu_ms: dict[str, list[float]] = {name: [] for name in replayers}
    for _ in range(rounds):
        for name, replayer in replayers.items():
            began = time.process_time()
            for _ in range(replays):
                await replayer.replay_workflow(history)
            cpu_ms[name].append((time.process_time() - began) / replays * 1000)
    print(f"workflow_replay_events {len(history.events)} events")
    for name, figures in cpu_ms.items():
        print(f"workflow_replay_cpu{{runner={name}}} {statistics.median(figures):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--replays", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(measure(args.rounds, args.replays))


if __name__ == "__main__":
    main()
