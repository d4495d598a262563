"""`paid up` cold start to ready, and the idle memory of the whole stack (Temporal, NATS, PostgreSQL and
the five services), measured on the same code path `paid up` runs (`PaidPlatform.start`).

Memory is summed over every process of the stack: RSS (counts shared pages once per process, so it
overstates) and PSS (shares them out, the honest total). Prints `name value unit` lines.
Usage: bench/stack_footprint.py [--idle-seconds S]
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import threading
import time
from pathlib import Path

from paid_devstack.platform import PaidPlatform, PlatformConfig
from paid_devstack.processes import descendants


def memory_kib(pid: int, field: str, source: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def stack_memory_mib() -> tuple[float, float, int]:
    pids = descendants(os.getpid())
    rss = sum(memory_kib(pid, "VmRSS", "status") for pid in pids)
    pss = sum(memory_kib(pid, "Pss", "smaps_rollup") for pid in pids)
    return rss / 1024, pss / 1024, len(pids)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="paid-bench-up-"))
    config = PlatformConfig(
        home=home,
        github_api_url="http://127.0.0.1:9/api/v3",
        github_token="ghp_" + secrets.token_hex(18),
        webhook_secret=secrets.token_hex(20),
    )
    platform = PaidPlatform(config)
    began = time.monotonic()
    platform.start()
    ready = time.monotonic() - began
    try:
        threading.Event().wait(args.idle_seconds)  # let the stack settle into its idle state
        rss, pss, processes = stack_memory_mib()
    finally:
        platform.stop()
    print(f"paid_up_cold_start_to_ready {ready:.1f} s")
    print(f"stack_idle_processes {processes} processes")
    print(f"stack_idle_pss {pss:.0f} MiB")
    print(f"stack_idle_rss_sum {rss:.0f} MiB")


if __name__ == "__main__":
    main()
