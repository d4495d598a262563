"""What each waiting agent process costs the worker in asyncio's child watcher, by watcher.

Python 3.11's default waits for each child in a thread of its own; the executor uses pidfds
(paid_executor.agents.process.watch_children_with_pidfds). Each form runs in a fresh interpreter,
alternating, with N `sleep` children whose stdout and stderr are piped and read, as an agent's are.

Prints `name value unit` lines. Usage: bench/child_watchers.py [--children N] [--pairs P]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
from pathlib import Path


def rss_kib() -> int:
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def hold(watcher: str, children: int) -> None:
    if watcher == "pidfd":
        from paid_executor.agents.process import watch_children_with_pidfds

        if not watch_children_with_pidfds():
            raise SystemExit("this kernel has no pidfd_open")
    warm = await asyncio.create_subprocess_exec("true")
    await warm.wait()
    before = rss_kib()
    processes, waits = [], []
    for _ in range(children):
        process = await asyncio.create_subprocess_exec(
            "sleep", "3600", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        processes.append(process)
        assert process.stdout is not None
        waits += [asyncio.ensure_future(process.wait()), asyncio.ensure_future(process.stdout.readline())]
    await asyncio.sleep(0.5)  # every watcher thread started
    after = rss_kib()
    threads = len(os.listdir(f"/proc/{os.getpid()}/task"))
    for process in processes:
        process.kill()
    await asyncio.gather(*waits, return_exceptions=True)
    print((after - before) / children, threads)


def measure(watcher: str, children: int) -> tuple[float, int]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", watcher, "--children", str(children)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=500)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--child", choices=("threaded", "pidfd"))
    args = parser.parse_args()
    if args.child:
        asyncio.run(hold(args.child, args.children))
        return
    figures: dict[str, list[tuple[float, int]]] = {"threaded": [], "pidfd": []}
    for _ in range(args.pairs):
        for watcher, runs in figures.items():
            runs.append(measure(watcher, args.children))
    for watcher, runs in figures.items():
        print(f"child_watcher_{watcher}_rss_per_child {statistics.median(r for r, _ in runs):.1f} KiB")
        print(f"child_watcher_{watcher}_threads {max(t for _, t in runs)} threads")
    print(f"child_watcher_children {args.children} processes")


if __name__ == "__main__":
    main()
