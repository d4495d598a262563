"""Where an agent starts, and where the checks start: the one module that owns the sandbox, the
metering proxy and its per-run token, and the process, for both."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from paid_executor.activities.agent import agent_env
from paid_executor.activities.worktrees import heartbeating
from paid_executor.agents.base import Invocation
from paid_executor.agents.process import AgentTimeoutError, ProcessOutcome, run_agent_process
from paid_executor.config import ExecutorSettings
from paid_executor.params import CheckResult
from paid_executor.project_budgets import own_caps, with_own_caps
from paid_executor.proxy import Budget, Ledger, MeteringProxy, SharedLedger, SpendPolicy
from paid_executor.proxy.server import Upstreams
from paid_executor.proxy.shared_ledger import ledger_engine
from paid_executor.proxy.spend_alerts import Publish, SpendAlerts
from paid_executor.run_workspace import RunPaths
from paid_executor.sandbox import Sandbox, SandboxError, SandboxRequest, sandbox_for
from paid_executor.sandbox.base import UNSANDBOXED
from paid_executor.sandbox.cgroup import oom_killed
from paid_executor.workspace import Identity
from paid_runtime.telemetry import current_trace_context

CHECK_OUTPUT_LIMIT = 4000
# The worker sends an activity's heartbeat to Temporal at most once a second (worker.worker_options),
# and a cancellation arrives with its answer; a waiting agent reports no more often than that, since
# each report costs the event loop an encode and a task, a thousand times over at 1,000 runs.
AGENT_PROGRESS_SECONDS = 1.0
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Launch:
    """One iteration's agent in its sandbox, with the proxy token its budget is metered against."""

    sandbox: Sandbox
    request: SandboxRequest
    paths: RunPaths
    ledger: Ledger


class Launcher:
    def __init__(
        self,
        settings: ExecutorSettings,
        identity: Identity,
        engine: AsyncEngine | None = None,
        publish: Publish | None = None,
    ) -> None:
        """`engine`: the database of the shared spend ledger; without it each run's budget stands alone.
        `publish`: where the ledger announces budget thresholds reached (80%, 100%)."""
        self.settings = settings
        self.identity = identity
        self.engine = engine
        self.publish = publish
        self._proxy: MeteringProxy | None = None
        self._proxy_lock = asyncio.Lock()

    def sandbox(self, name: str) -> Sandbox:
        """SandboxError when the name is unknown, or names no sandbox in production."""
        settings = self.settings
        return sandbox_for(
            name,
            image=settings.sandbox_image,
            production=settings.environment == "production",
            shared_dir=settings.sandbox_shared_dir,
        )

    @contextlib.asynccontextmanager
    async def metered(
        self,
        sandbox: Sandbox,
        sandbox_name: str,
        *,
        run_id: str,
        run_key: str,
        paths: RunPaths,
        budget: Budget,
        timeout: float,
        policy: SpendPolicy | None = None,
    ) -> AsyncIterator[Launch]:
        """A proxy token for the run's budget (and the shared `policy`), valid while the block runs,
        and the sandbox request."""
        proxy = await self.proxy()
        if policy is not None and proxy.shared is not None:
            policy = with_own_caps(policy, await own_caps(proxy.shared.engine, policy.project))
        token, ledger = proxy.open_run(run_id, budget, policy)
        settings = self.settings
        env = self.environment(sandbox_name) | {
            "ANTHROPIC_BASE_URL": proxy.url,
            "ANTHROPIC_API_KEY": token,
            "OPENAI_BASE_URL": f"{proxy.url}/v1",
            "OPENAI_API_KEY": token,
            "GOOGLE_GEMINI_BASE_URL": proxy.url,
            "GEMINI_API_KEY": token,
        }
        request = SandboxRequest(
            run_key=run_key,
            worktree=paths.worktree,
            env=env,
            read_only=(paths.prompt_file, *settings.sandbox_read_only),
            proxy_socket=proxy.socket_path,
            proxy_port=proxy.port,
            pids_limit=settings.sandbox_pids_limit,
            memory_bytes=settings.sandbox_memory_bytes,
            cpus=settings.sandbox_cpus,
            cpu_seconds=int(timeout * settings.sandbox_cpus) + 1,
        )
        try:
            yield Launch(sandbox, request, paths, ledger)
        finally:
            proxy.close_run(token)

    def environment(self, sandbox: str) -> dict[str, str]:
        """A sandboxed agent gets a clean environment; an unsandboxed one the worker's, minus Paid's
        secrets. Neither writes Python bytecode: the worktree's change is read after the checks, and a
        repository that does not ignore `__pycache__` would get the checks' caches in its pull request."""
        venv_bin = str(Path(sys.executable).parent)
        if sandbox in UNSANDBOXED:
            env = agent_env(self.identity)
            return env | {
                "PATH": f"{venv_bin}:{env.get('PATH', SANDBOX_PATH)}",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        env = self.identity.env() | {
            "PATH": f"{venv_bin}:{SANDBOX_PATH}",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        if traceparent := current_trace_context().traceparent:
            env["TRACEPARENT"] = traceparent
        return env

    async def agent(
        self,
        launch: Launch,
        invocation: Invocation,
        timeout: float,
        step: dict[str, object],
        on_line: Callable[[str], None],
    ) -> ProcessOutcome | None:
        """Runs the agent until it ends, or until the proxy says the budget is spent (then None)."""
        sandbox, request = launch.sandbox, launch.request
        try:
            # A container's creation blocks for seconds on a loaded engine (on vfs it copies the image):
            # off the event loop, with heartbeats, so the run is not taken for lost meanwhile.
            async with heartbeating(step | {"sandbox": "starting"}):
                prepared = await asyncio.to_thread(sandbox.prepare, invocation, request)
        except SandboxError as error:
            raise ApplicationError(str(error), type="SandboxUnavailable", non_retryable=True) from error
        if prepared.note:
            on_line(f"[paid] {prepared.note}")
        agent = asyncio.create_task(
            run_agent_process(
                prepared.invocation,
                cwd=request.worktree,
                base_env={},
                timeout=timeout,
                pgid_file=launch.paths.pgid_file,
                on_progress=lambda line: activity.heartbeat(step | {"last_output": line}),
                progress_interval=AGENT_PROGRESS_SECONDS,
                on_line=on_line,
                limits=prepared.limits,
            )
        )
        exceeded = asyncio.create_task(launch.ledger.exceeded.wait())
        try:
            await asyncio.wait({agent, exceeded}, return_when=asyncio.FIRST_COMPLETED)
            if agent.done():
                return replace(agent.result(), memory_exhausted=oom_killed(prepared.limits))
            agent.cancel()  # kills the process group
            with contextlib.suppress(asyncio.CancelledError):
                await agent
            return None
        except AgentTimeoutError as error:
            raise ApplicationError(str(error), type="AgentTimedOut", non_retryable=True) from error
        finally:
            exceeded.cancel()
            if not agent.done():
                agent.cancel()
                with contextlib.suppress(BaseException):
                    await agent
            async with heartbeating(step | {"sandbox": "stopping"}):
                await asyncio.to_thread(sandbox.release, prepared)

    async def check(self, launch: Launch, command: str, on_progress: Callable[[str], None]) -> CheckResult:
        """One test or lint command in the agent's sandbox, without the proxy or its token."""
        base = launch.request
        env = {k: v for k, v in base.env.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        timeout = self.settings.check_timeout_seconds
        check_request = SandboxRequest(
            run_key=f"{base.run_key}-check",
            worktree=base.worktree,
            env=env,
            read_only=base.read_only,
            pids_limit=base.pids_limit,
            memory_bytes=base.memory_bytes,
            cpus=base.cpus,
            cpu_seconds=int(timeout * base.cpus) + 1,
        )
        box = launch.sandbox
        invocation = Invocation(argv=["sh", "-c", command], stdin=None, env={})
        async with heartbeating({"step": "check", "sandbox": "starting"}):
            prepared = await asyncio.to_thread(box.prepare, invocation, check_request)
        try:
            outcome = await run_agent_process(
                prepared.invocation,
                cwd=base.worktree,
                base_env={},
                timeout=timeout,
                pgid_file=launch.paths.pgid_file,
                on_progress=on_progress,
                progress_interval=0.5,
                limits=prepared.limits,
            )
        except AgentTimeoutError as error:
            return CheckResult(command=command, exit_code=124, output=f"$ {command}\n{error}")
        finally:
            async with heartbeating({"step": "check", "sandbox": "stopping"}):
                await asyncio.to_thread(box.release, prepared)
        output = (outcome.stdout + outcome.stderr).strip()
        return CheckResult(
            command=command,
            exit_code=outcome.exit_code,
            output=f"$ {command}  (exit code {outcome.exit_code})\n{output[-CHECK_OUTPUT_LIMIT:]}",
        )

    async def proxy(self) -> MeteringProxy:
        """The worker's metering proxy, started on first use in the worker's event loop."""
        async with self._proxy_lock:
            if self._proxy is None:
                settings = self.settings
                upstreams = Upstreams(
                    anthropic_url=settings.anthropic_base_url,
                    anthropic_key=settings.anthropic_api_key,
                    openai_url=settings.openai_base_url,
                    openai_key=settings.openai_api_key,
                    gemini_url=settings.gemini_base_url,
                    gemini_key=settings.gemini_api_key,
                )
                # Unix socket paths are limited to 108 bytes: the temp dir, not the workspace root; a
                # docker sandbox behind a containerised executor binds it from the shared directory.
                socket_dir = settings.sandbox_shared_dir or Path(tempfile.gettempdir())
                await asyncio.to_thread(socket_dir.mkdir, parents=True, exist_ok=True)
                socket_path = socket_dir / f"paid-proxy-{os.getpid()}-{uuid.uuid4().hex[:8]}.sock"
                shared = None
                if self.engine is not None and settings.budgets_shared:
                    pool = ledger_engine(self.engine.url)
                    shared = SharedLedger(
                        pool,
                        holder=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
                        estimate=settings.spend_estimate(),
                        lease_seconds=settings.spend_lease_seconds,
                        alerts=None if self.publish is None else SpendAlerts(pool, self.publish),
                    )
                    await shared.start()
                proxy = MeteringProxy(upstreams, socket_path, shared=shared)
                await proxy.start()
                self._proxy = proxy
            return self._proxy

    async def stop(self) -> None:
        if self._proxy is not None:
            await self._proxy.stop()
            if self._proxy.shared is not None:
                await self._proxy.shared.engine.dispose()
            self._proxy = None
