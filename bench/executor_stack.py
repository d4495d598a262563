"""What the executor benchmarks share: real Temporal, NATS, PostgreSQL and the GitHub emulator, and
one `paid-executor` process (one worker) configured by the caller."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from scratch import release_mounts

from paid_devstack import wait_until
from paid_devstack.nats import NatsServer
from paid_devstack.ports import free_port
from paid_devstack.postgres import EmbeddedPostgres
from paid_devstack.temporal import TemporalDevServer
from paid_github_emulator.server import GitHubEmulator

EXECUTOR = Path(sys.executable).parent / "paid-executor"
TOKEN = "ghp_bench_token"  # noqa: S105 - a user of the local GitHub emulator
OWNER = "bench"


@dataclass
class ExecutorStack:
    temporal: TemporalDevServer
    github: GitHubEmulator
    executor: subprocess.Popen[bytes]
    task_queue: str
    workspaces: Path

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.executor.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def threads(self) -> int:
        return len(list(Path(f"/proc/{self.executor.pid}/task").iterdir()))


@contextmanager
def executor_stack(home: Path, executor_env: dict[str, str]) -> Iterator[ExecutorStack]:
    with ExitStack() as stack:
        temporal = stack.enter_context(TemporalDevServer(home / "temporal", headless=True))
        nats = stack.enter_context(NatsServer(home / "nats", sync_always=False))
        nats.provision_streams()  # services wait for their streams, never create them
        postgres = stack.enter_context(EmbeddedPostgres(home / "postgres"))
        github = stack.enter_context(GitHubEmulator(home / "github"))
        github.add_user(OWNER, TOKEN)
        task_queue = "executor-bench"
        env = {
            **os.environ,
            "PAID_EXECUTOR_NATS_URL": nats.url,
            "PAID_EXECUTOR_TEMPORAL_TARGET": temporal.target,
            "PAID_EXECUTOR_DATABASE_URL": postgres.url,
            "PAID_EXECUTOR_GITHUB_API_URL": github.api_url,
            "PAID_EXECUTOR_GITHUB_TOKEN": TOKEN,
            "PAID_EXECUTOR_GITHUB_CREDENTIALS": "global",  # no gateway, so no minter, here
            "PAID_EXECUTOR_HTTP_PORT": str(free_port()),
            "PAID_EXECUTOR_TASK_QUEUE": task_queue,
            "PAID_EXECUTOR_WORKSPACE_ROOT": str(home / "workspaces"),
            "PAID_EXECUTOR_LOG_LEVEL": "WARNING",
            **executor_env,
        }
        log = stack.enter_context((home / "executor.log").open("ab"))
        executor = subprocess.Popen([str(EXECUTOR)], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            port = env["PAID_EXECUTOR_HTTP_PORT"]
            wait_until(lambda: _ready(port), timeout=600, what="the executor")  # a loaded machine: minutes
            yield ExecutorStack(temporal, github, executor, task_queue, home / "workspaces")
        finally:
            executor.send_signal(signal.SIGTERM)
            try:
                executor.wait(timeout=30)
            except subprocess.TimeoutExpired:
                executor.kill()
                executor.wait()
            # Runs still in flight when the executor stopped keep their overlay worktrees mounted.
            release_mounts(home)


def _ready(port: str) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
