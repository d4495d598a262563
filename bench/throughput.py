"""End-to-end runs per minute through one executor process: N issues are labeled at once, each on its
own repository; every run clones, runs the shipped demo agent, commits, pushes, opens a PR and comments.
Goal: >= 60 runs a minute. Prints `name value unit` lines. Usage: bench/throughput.py [--runs N]"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from paid_devstack import wait_until
from paid_devstack.sandbox import EmulatedPaid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="paid-bench-throughput-"))
    executor_env = {
        "PAID_EXECUTOR_AGENT": "demo",
        # The executor's throughput is measured, not the admission limits (README "Fair concurrency").
        "PAID_EXECUTOR_MAX_RUNNING_RUNS": str(args.runs),
        "PAID_EXECUTOR_MAX_RUNNING_RUNS_PER_PROVIDER": str(args.runs),
    }
    with EmulatedPaid(home, service_env={"executor": executor_env}) as paid:
        issues = [paid.create_repository("bench", f"throughput-{n}") for n in range(args.runs)]
        began = time.monotonic()
        for issue in issues:
            paid.label(issue)
        wait_until(
            lambda: all(paid.pulls(issue) for issue in issues),
            timeout=60 + args.runs * 10,
            what="a pull request for every labeled issue",
        )
        elapsed = time.monotonic() - began
        succeeded = sum(1 for issue in issues if len(paid.pulls(issue)) == 1)
    print(f"throughput_runs {args.runs} runs")
    print(f"throughput_pull_requests {succeeded} runs")
    print(f"throughput_wall_time {elapsed:.1f} s")
    print(f"throughput_runs_per_minute {args.runs / elapsed * 60:.0f} runs/min")


if __name__ == "__main__":
    main()
