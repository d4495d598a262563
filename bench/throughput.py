"""End-to-end runs per minute through one executor process: N issues are labeled at once, each on its
own repository; every run clones, runs the shipped demo agent, commits, pushes, opens a PR and comments.
Goal: >= 200 runs a minute. Also prints the CPU seconds per run of each engine over the same window
(process_cpu.py): the executor (its own, then its git processes, then the rest of its children: agents,
sandboxes, checks), Temporal, PostgreSQL, NATS and the other services; a run's time is split among them.
The GitHub emulator runs in this process (threads, and `git http-backend` for clones and pushes): its
CPU is printed apart, as process=github_emulator, and is in none of Paid's figures. Within the
executor's figure, process=executor_self is its own Python process and process=git_shim the bench's
shell around each git; git processes are counted by subcommand too, and Temporal's requests by
operation (temporal_requests.py). One unmeasured run goes first.
Prints `name value unit` lines. Usage: bench/throughput.py [--runs N]"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections import Counter
from pathlib import Path

from process_cpu import GitShim, own_cpu_seconds, tree_cpu_seconds
from scratch import bench_home
from temporal_requests import requests_by_operation

from paid_devstack import wait_until
from paid_devstack.sandbox import EmulatedPaid


def engine_pids(paid: EmulatedPaid) -> dict[str, int]:
    platform = paid.platform
    supervisor = platform.supervisor
    pids = {name: pid for name in supervisor.names if (pid := supervisor.process(name).pid)}
    for name, server in (
        ("temporal", platform.infra.temporal),
        ("nats", platform.infra.nats),
        ("postgres", platform.infra.postgres),
    ):
        if server is not None and server.process.pid is not None:
            pids[name] = server.process.pid
    return pids


def cpu_by_engine(pids: dict[str, int], git: GitShim) -> dict[str, float]:
    executor_self = own_cpu_seconds(pids["executor"])
    used = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
    executor = used.pop("executor")
    git_seconds = git.seconds()
    services = sum(seconds for name, seconds in used.items() if name not in ("temporal", "nats", "postgres"))
    return {
        "executor": executor - git_seconds,  # its own and its children but git: agents, checks
        # Parts of `executor`: its own Python process, and the bench's git shim (bash around each git).
        "executor_self": executor_self,
        "git_shim": git.shim_seconds(),
        "git": git_seconds,
        "temporal": used.get("temporal", 0.0),
        "postgres": used.get("postgres", 0.0),
        "nats": used.get("nats", 0.0),
        "other_services": services,
    }


def bench_process_seconds() -> float:
    """This process's CPU (the emulator's threads, and the bench's polling) and its reaped children's
    (the emulator's git http-backend); the services are children too, but live ones are not in it."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    # Removed afterwards with the overlay worktrees of runs still mounted when the executor stops.
    with bench_home("paid-bench-throughput-") as home:
        measure(args.runs, home)


def measure(runs: int, home: Path) -> None:
    git = GitShim(home / "git-shim")
    executor_env = {
        "PAID_EXECUTOR_AGENT": "demo",
        "PATH": git.path(os.environ.get("PATH", "/usr/bin:/bin")),
        # The executor's throughput is measured, not the admission limits (README "Fair concurrency").
        "PAID_EXECUTOR_MAX_RUNNING_RUNS": str(runs + 1),  # and the warm-up run
        "PAID_EXECUTOR_MAX_RUNNING_RUNS_PER_PROVIDER": str(runs + 1),
    }
    with EmulatedPaid(home, service_env={"executor": executor_env}) as paid:
        issues = [paid.create_repository("bench", f"throughput-{n}") for n in range(runs)]
        # One unmeasured run first: what a process does once (imports on first use, pools, caches)
        # is in no run's figure.
        warm_up = paid.create_repository("bench", "throughput-warm-up")
        paid.label(warm_up)
        paid.wait_for_result_comment(warm_up, timeout=600)
        pids = engine_pids(paid)
        temporal = paid.platform.infra.temporal
        metrics_url = temporal.metrics_url if temporal is not None else None
        requests_before = requests_by_operation(metrics_url) if metrics_url else Counter[str]()
        before = cpu_by_engine(pids, git)
        git_calls, git_commands = git.calls(), git.commands()
        emulator_before = bench_process_seconds()
        began = time.monotonic()
        for issue in issues:
            paid.label(issue)
        wait_until(
            lambda: all(paid.pulls(issue) for issue in issues),
            timeout=60 + runs * 10,
            what="a pull request for every labeled issue",
        )
        elapsed = time.monotonic() - began
        emulator = bench_process_seconds() - emulator_before
        after = cpu_by_engine(pids, git)
        git_calls = git.calls() - git_calls
        git_commands = git.commands() - git_commands
        requests = (requests_by_operation(metrics_url) if metrics_url else Counter[str]()) - requests_before
        succeeded = sum(1 for issue in issues if len(paid.pulls(issue)) == 1)
    print(f"throughput_runs {runs} runs")
    print(f"throughput_pull_requests {succeeded} runs")
    print(f"throughput_wall_time {elapsed:.1f} s")
    print(f"throughput_runs_per_minute {runs / elapsed * 60:.0f} runs/min")
    for engine, seconds in after.items():
        print(f"throughput_cpu_per_run{{process={engine}}} {(seconds - before[engine]) / runs:.3f} s")
    print(f"throughput_cpu_per_run{{process=github_emulator}} {emulator / runs:.3f} s")
    print(f"throughput_git_processes_per_run {git_calls / runs:.1f} processes")
    for command, calls in sorted(git_commands.items()):
        print(f"throughput_git_processes_per_run{{command={command}}} {calls / runs:.1f} processes")
    # What drives Temporal's CPU: its requests per run, by operation (polls are long waits, not work).
    for operation, count in sorted(requests.items()):
        if count >= runs / 10:
            per_run = count / runs
            print(f"throughput_temporal_requests_per_run{{operation={operation}}} {per_run:.1f} requests")
    # What the machine had: a run's share of the wall time on every core.
    print(f"throughput_cpu_per_run{{process=available}} {(os.cpu_count() or 1) * elapsed / runs:.3f} s")


if __name__ == "__main__":
    main()
