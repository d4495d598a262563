"""CPU seconds per engine, for the runs-per-minute figures: where 200 runs a minute must come from.

A process tree's CPU is the sum, over its live processes, of their own and their reaped children's
user + system time (a live process is in nobody's reaped total, so nothing counts twice). The
executor's git processes are told apart by a `git` shim first on the executor's PATH, which runs the
real git and appends what it used (the shell's `times`) to a log."""

from __future__ import annotations

import os
import shutil
from collections import Counter
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


def own_cpu_seconds(pid: int) -> float:
    """The process's own user + system time, without its children's (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


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
        self.commands_log = directory / "git-commands.log"
        self.commands_log.touch()
        shim = directory / "git"
        # bash's `times` (getrusage, to the millisecond; dash's counts whole 10 ms ticks) prints the
        # shell's own times, then its children's: "0m0.010s 0m0.004s". The subcommand is the first
        # argument that is neither an option nor a `-c` option's value (argv never holds a token).
        shim.write_text(
            "#!/bin/bash\n"
            'command=""; skip=""\n'
            'for arg in "$@"; do\n'
            '  if [ -n "$skip" ]; then skip=""; elif [ "$arg" = -c ] || [ "$arg" = -C ]; then skip=1;\n'
            '  elif [ "${arg#-}" = "$arg" ]; then command=$arg; break; fi\n'
            "done\n"
            f'echo "${{command:-none}}" >> {self.commands_log}\n'
            f'{real} "$@"\nstatus=$?\ntimes >> {self.log}\nexit $status\n'
        )
        shim.chmod(0o755)

    def path(self, rest: str) -> str:
        return f"{self.directory}:{rest}"

    def seconds(self) -> float:
        lines = self.log.read_text().splitlines()
        return sum(_minutes_seconds(part) for line in lines[1::2] for part in line.split())

    def shim_seconds(self) -> float:
        """The shim's own shells: the bench's cost, which the executor's tree figure includes."""
        lines = self.log.read_text().splitlines()
        return sum(_minutes_seconds(part) for line in lines[0::2] for part in line.split())

    def calls(self) -> int:
        return len(self.log.read_text().splitlines()) // 2

    def commands(self) -> Counter[str]:
        return Counter(self.commands_log.read_text().split())


def _minutes_seconds(text: str) -> float:
    minutes, _, seconds = text.rstrip("s").partition("m")
    return int(minutes) * 60 + float(seconds)
