"""The demo path end to end: cold start of the whole stack, then a labeled issue -> pull request ->
result comment with the shipped demo agent (clone, agent, commit, push, PR, comment, events).

Prints `name value unit` lines. Usage: bench/demo_end_to_end.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from paid_devstack.sandbox import EmulatedPaid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="paid-bench-"))
    cold = time.monotonic()
    with EmulatedPaid(home, service_env={"executor": {"PAID_EXECUTOR_AGENT": "demo"}}) as paid:
        startup = time.monotonic() - cold
        durations = []
        for run in range(args.runs):
            issue = paid.create_repository("bench", f"demo-{run}")
            began = time.monotonic()
            paid.label(issue)
            paid.wait_for_pull(issue)
            paid.wait_for_result_comment(issue)
            durations.append(time.monotonic() - began)
    print(f"stack_cold_start {startup:.1f} s")
    print(f"demo_label_to_pr_and_comment_p50 {statistics.median(durations) * 1000:.0f} ms")
    print(f"demo_label_to_pr_and_comment_max {max(durations) * 1000:.0f} ms")
    print(f"demo_end_to_end_first_run {(startup + durations[0]):.1f} s")


if __name__ == "__main__":
    main()
