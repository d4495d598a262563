"""CPU seconds per engine, for the runs-per-minute figures: where 200 runs a minute must come from.

A process tree's CPU is the sum, over its live processes, of their own and their reaped children's
user + system time (a live process is in nobody's reaped total, so nothing counts twice). The
executor's git processes are told apart by a `git` shim first on the executor's PATH, which runs the
real git and appends what it used (the shell's `times`) to a log."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    children: dict[int, list[int]] = {}
    own: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        own[pid] = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += own.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total / TICKS


class GitShim:
    """A directory to put first on the executor's PATH, whose `git` logs the CPU of each real git."""

    def __init__(self, directory: Path) -> None:
        real = shutil.which("git")
        if real is None:
            raise RuntimeError("no git on PATH")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.log = directory / "git-times.log"
        self.log.touch()
        shim = directory / "git"
        # bash's `times` (getrusage, to the millisecond; dash's counts whole 10 ms ticks) prints the
        # shell's own times, then its children's: "0m0.010s 0m0.004s".
        shim.write_text(f'#!/bin/bash\n{real} "$@"\nstatus=$?\ntimes >> {self.log}\nexit $status\n')
        shim.chmod(0o755)

    def path(self, rest: str) -> str:
        return f"{self.directory}:{rest}"

    def seconds(self) -> float:
        lines = self.log.read_text().splitlines()
        return sum(_minutes_seconds(part) for line in lines[1::2] for part in line.split())

    def calls(self) -> int:
        return len(self.log.read_text().splitlines()) // 2


def _minutes_seconds(text: str) -> float:
    minutes, _, seconds = text.rstrip("s").partition("m")
    return int(minutes) * 60 + float(seconds)
