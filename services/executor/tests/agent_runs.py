"""One run of the executor's workflow with a chosen agent, on the test's real servers: what every
real-CLI test does between scripting the model and reading the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faststream.nats import NatsBroker
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from paid_contracts import RepoRef
from paid_executor.params import ExecutionResult
from paid_github_emulator.server import GitHubEmulator

from .loop_support import loop_request, loop_worker, run_to_end


@dataclass(frozen=True)
class Servers:
    env: WorkflowEnvironment
    emulator: GitHubEmulator
    engine: AsyncEngine
    broker: NatsBroker
    tmp_path: Path


async def run_agent(
    servers: Servers,
    repo_ref: RepoRef,
    agent: str,
    settings: dict[str, Any],
    **overrides: Any,
) -> ExecutionResult:
    """The run of issue 1 in the bwrap sandbox with `agent`; `settings` are the worker's, `overrides`
    the request's (a budget, a sandbox)."""
    env = servers.env
    workspaces = servers.tmp_path / "ws"
    async with loop_worker(
        env, servers.emulator, servers.engine, servers.broker, workspaces, agent=agent, **settings
    ) as worker:
        request = loop_request(repo_ref, agent=agent, **({"sandbox": "bwrap"} | overrides))
        return await run_to_end(env.client, request, worker.task_queue)
