"""The fix-forward loop's activities: prepare the worktree, run one iteration (agent, then the
repository's checks, in the sandbox), publish the change, clean up. The worktree lives on the
worker process that prepared it: prepare_workspace (on the shared queue) answers with that process's
own task queue (its "home"), where the workflow schedules the others; cleanup is idempotent and
always runs."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from paid_executor.activities.agent import agent_env
from paid_executor.activities.deps import ExecutorDeps
from paid_executor.activities.output import OutputPublisher
from paid_executor.agents.base import AgentResult, Invocation
from paid_executor.agents.process import (
    AgentTimeoutError,
    ProcessOutcome,
    kill_recorded_group,
    run_agent_process,
)
from paid_executor.agents.registry import adapter_for, describe_agent
from paid_executor.params import (
    AgentRunOutput,
    CheckResult,
    IterationInput,
    IterationOutput,
    PublishInput,
    RunContext,
    WorkspaceInfo,
    WorkspaceInput,
)
from paid_executor.prompts import iteration_prompt
from paid_executor.proxy import Budget, Ledger, MeteringProxy
from paid_executor.proxy.server import Upstreams
from paid_executor.repo_config import RepoConfig, RepoConfigError, load_repo_config
from paid_executor.run_workspace import RunPaths, RunWorkspace
from paid_executor.sandbox import Sandbox, SandboxError, SandboxRequest, sandbox_for
from paid_executor.sandbox.base import UNSANDBOXED
from paid_executor.sandbox.cgroup import oom_killed
from paid_executor.workspace import GitError, Identity, sanitise
from paid_runtime.telemetry import current_trace_context

CHECK_OUTPUT_LIMIT = 4000
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"


@contextlib.asynccontextmanager
async def heartbeating(details: dict[str, object], interval: float = 0.5) -> AsyncIterator[None]:
    """Heartbeats while a step without progress of its own (a clone, a push) runs, so a slow host is
    not mistaken for a dead worker; cancellation still arrives through these heartbeats."""

    async def beat() -> None:
        while True:
            activity.heartbeat(details)
            await asyncio.sleep(interval)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class IterationActivities:
    def __init__(self, deps: ExecutorDeps, *, home_queue: str | None = None) -> None:
        """`home_queue`: the task queue only this process polls (worker.home_queue_for)."""
        self.deps = deps
        self.home_queue = home_queue
        self._proxy: MeteringProxy | None = None
        self._proxy_lock = asyncio.Lock()

    @property
    def identity(self) -> Identity:
        return Identity(self.deps.settings.git_author_name, self.deps.settings.git_author_email)

    def workspace(self, run: RunContext) -> RunWorkspace:
        return RunWorkspace(self.deps.settings, run)

    async def proxy(self) -> MeteringProxy:
        """The worker's metering proxy, started on first use in the worker's event loop."""
        async with self._proxy_lock:
            if self._proxy is None:
                settings = self.deps.settings
                upstreams = Upstreams(
                    anthropic_url=settings.anthropic_base_url,
                    anthropic_key=settings.anthropic_api_key,
                    openai_url=settings.openai_base_url,
                    openai_key=settings.openai_api_key,
                )
                # Unix socket paths are limited to 108 bytes: the temp dir, not the workspace root.
                socket_path = (
                    Path(tempfile.gettempdir()) / f"paid-proxy-{os.getpid()}-{uuid.uuid4().hex[:8]}.sock"
                )
                proxy = MeteringProxy(upstreams, socket_path)
                await proxy.start()
                self._proxy = proxy
            return self._proxy

    async def stop(self) -> None:
        if self._proxy is not None:
            await self._proxy.stop()
            self._proxy = None

    @activity.defn(name="prepare_workspace")
    async def prepare_workspace(self, request: WorkspaceInput) -> WorkspaceInfo:
        workspace = self.workspace(request.run)
        kill_recorded_group(workspace.paths.pgid_file)  # an earlier attempt's agent, if its worker was killed
        try:
            async with heartbeating({"step": "clone"}):
                prepared = await workspace.prepare(request.issue, request.branch)
        except GitError as error:
            raise ApplicationError(str(error), type="CloneFailed") from error
        return WorkspaceInfo(
            base_sha=prepared.base_sha,
            config=prepared.config,
            config_error=prepared.config_error,
            task_queue=self.home_queue,
        )

    def existing_workspace(self, run: RunContext) -> RunWorkspace:
        """The run's workspace, or WorktreeMissing: the workflow then prepares a fresh one elsewhere."""
        workspace = self.workspace(run)
        if not workspace.exists():
            raise ApplicationError(
                f"the run's worktree {workspace.paths.worktree} is gone (another worker or a cleanup)",
                type="WorktreeMissing",
                non_retryable=True,
            )
        return workspace

    @activity.defn(name="run_iteration")
    async def run_iteration(self, request: IterationInput) -> IterationOutput:
        settings, run, config = self.deps.settings, request.run, request.config
        workspace = self.existing_workspace(run)
        paths = workspace.paths
        try:
            sandbox = sandbox_for(
                request.sandbox, image=settings.sandbox_image, production=settings.environment == "production"
            )
            adapter = adapter_for(config.agent or run.agent, settings, model=config.model)
        except (SandboxError, ValueError) as error:
            raise ApplicationError(str(error), type="NotConfigured", non_retryable=True) from error
        prompt = iteration_prompt(
            request.prompt,
            iteration=request.iteration,
            feedback=request.feedback,
            instructions=request.instructions,
        )
        paths.prompt_file.write_text(prompt)
        proxy = await self.proxy()
        budget = Budget(
            max_tokens=None if request.max_tokens is None else request.max_tokens - request.spent_tokens,
            max_cost_usd=None
            if request.max_cost_usd is None
            else request.max_cost_usd - request.spent_cost_usd,
        )
        token, ledger = proxy.open_run(run.run_id, budget)
        env = self._env(request.sandbox) | {
            "ANTHROPIC_BASE_URL": proxy.url,
            "ANTHROPIC_API_KEY": token,
            "OPENAI_BASE_URL": f"{proxy.url}/v1",
            "OPENAI_API_KEY": token,
        }
        sandbox_request = SandboxRequest(
            run_key=sanitise(f"{run.run_id}-{request.iteration}"),
            worktree=paths.worktree,
            env=env,
            read_only=(paths.prompt_file, *settings.sandbox_read_only),
            proxy_socket=proxy.socket_path,
            proxy_port=proxy.port,
            pids_limit=settings.sandbox_pids_limit,
            memory_bytes=settings.sandbox_memory_bytes,
            cpus=settings.sandbox_cpus,
            cpu_seconds=int(request.timeout_seconds * settings.sandbox_cpus) + 1,
        )
        step = {"step": "agent", "iteration": request.iteration}
        try:
            invocation = adapter.invocation(prompt, paths.prompt_file)
            # A re-homed run does an iteration again: its output gets event ids of its own.
            scope = f"iteration-{request.iteration}" + (f"-home-{request.rehomes}" if request.rehomes else "")
            async with OutputPublisher(
                self.deps.broker, request.run, activity.info().attempt, scope=scope
            ) as out:
                process = await self._run_metered(
                    invocation,
                    sandbox,
                    sandbox_request,
                    ledger,
                    request.timeout_seconds,
                    paths,
                    step,
                    out.line,
                )
        except FileNotFoundError as error:
            raise ApplicationError(
                f"the {adapter.name} agent could not be started: {error}",
                type="AgentNotFound",
                non_retryable=True,
            ) from error
        finally:
            proxy.close_run(token)
        if process is None:  # the proxy stopped it
            return self._budget_output(request, ledger)
        result = adapter.parse(process.stdout, process.exit_code)
        if ledger.reason is not None:
            return self._budget_output(request, ledger, result=result, last_output=process.last_line)
        if result.is_error:
            reason = result.summary.strip() or process.stderr.strip()[-2000:] or process.last_line
            if process.memory_exhausted or process.exit_code == 137:  # docker's OOM kill: 137
                reason = (
                    f"stopped by the sandbox's memory limit ({settings.sandbox_memory_bytes // 2**20} MiB) "
                    f"or killed. {reason}"
                )
            raise ApplicationError(
                f"the {adapter.name} agent failed (exit code {process.exit_code}): {reason}",
                type="AgentFailed",
                non_retryable=True,
            )
        tokens = ledger.tokens if ledger.calls else (result.input_tokens or 0) + (result.output_tokens or 0)
        cost = ledger.cost_usd if ledger.calls else (result.cost_usd or 0.0)

        checks: list[CheckResult] = []
        check_env = {k: v for k, v in env.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        for command in (*config.test, *config.lint):
            activity.heartbeat({"step": "checks", "iteration": request.iteration, "last_output": command})
            checks.append(await self._check(command, sandbox, sandbox_request, check_env, paths, request))

        async with heartbeating({"step": "diff", "iteration": request.iteration}):
            imported = await workspace.import_change(
                request.base_sha, f"iteration {request.iteration}", config
            )
            diff = await workspace.host.diff(request.base_sha, imported.commit)
            numstat = await workspace.host.diff(request.base_sha, imported.commit, "--numstat")
        changed = list(imported.changed_files)
        lines = 0
        for row in numstat.splitlines():
            added, removed, *_ = row.split("\t")
            lines += int(added) if added.isdigit() else 0
            lines += int(removed) if removed.isdigit() else 0
        failures = "\n".join(check.output for check in checks if not check.passed)
        return IterationOutput(
            iteration=request.iteration,
            result=result,
            last_output=process.last_line,
            checks=tuple(checks),
            changed_files=tuple(changed),
            changed_lines=lines,
            forbidden=(*config.forbidden_matches(changed), *imported.refused),
            diff_hash=_digest(diff),
            output_hash=_digest(failures) if failures else "",
            tokens=tokens,
            cost_usd=cost,
        )

    def _env(self, sandbox: str) -> dict[str, str]:
        """A sandboxed agent gets a clean environment; a local one the worker's, minus Paid's secrets."""
        venv_bin = str(Path(sys.executable).parent)
        if sandbox in UNSANDBOXED:
            env = agent_env(self.identity)
            return env | {"PATH": f"{venv_bin}:{env.get('PATH', SANDBOX_PATH)}"}
        env = self.identity.env() | {
            "PATH": f"{venv_bin}:{SANDBOX_PATH}",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
        }
        if traceparent := current_trace_context().traceparent:
            env["TRACEPARENT"] = traceparent
        return env

    async def _run_metered(
        self,
        invocation: Invocation,
        sandbox: Sandbox,
        request: SandboxRequest,
        ledger: Ledger,
        timeout: float,
        paths: RunPaths,
        step: dict[str, object],
        on_line: Callable[[str], None],
    ) -> ProcessOutcome | None:
        """Runs the agent until it ends, or until the proxy says the budget is spent (then None)."""
        try:
            prepared = sandbox.prepare(invocation, request)
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
                pgid_file=paths.pgid_file,
                on_progress=lambda line: activity.heartbeat(step | {"last_output": line}),
                progress_interval=0.5,
                on_line=on_line,
                limits=prepared.limits,
            )
        )
        exceeded = asyncio.create_task(ledger.exceeded.wait())
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
            sandbox.release(prepared)

    async def _check(
        self,
        command: str,
        box: Sandbox,
        base: SandboxRequest,
        env: dict[str, str],
        paths: RunPaths,
        request: IterationInput,
    ) -> CheckResult:
        check_request = SandboxRequest(
            run_key=f"{base.run_key}-check",
            worktree=base.worktree,
            env=env,
            read_only=base.read_only,
            pids_limit=base.pids_limit,
            memory_bytes=base.memory_bytes,
            cpus=base.cpus,
            cpu_seconds=int(self.deps.settings.check_timeout_seconds * base.cpus) + 1,
        )
        prepared = box.prepare(Invocation(argv=["sh", "-c", command], stdin=None, env={}), check_request)
        try:
            outcome = await run_agent_process(
                prepared.invocation,
                cwd=base.worktree,
                base_env={},
                timeout=self.deps.settings.check_timeout_seconds,
                pgid_file=paths.pgid_file,
                on_progress=lambda line: activity.heartbeat(
                    {"step": "checks", "iteration": request.iteration, "last_output": line}
                ),
                progress_interval=0.5,
                limits=prepared.limits,
            )
        except AgentTimeoutError as error:
            return CheckResult(command=command, exit_code=124, output=f"$ {command}\n{error}")
        finally:
            box.release(prepared)
        output = (outcome.stdout + outcome.stderr).strip()
        return CheckResult(
            command=command,
            exit_code=outcome.exit_code,
            output=f"$ {command}  (exit code {outcome.exit_code})\n{output[-CHECK_OUTPUT_LIMIT:]}",
        )

    @staticmethod
    def _budget_output(
        request: IterationInput, ledger: Ledger, *, result: AgentResult | None = None, last_output: str = ""
    ) -> IterationOutput:
        agent_result = result or AgentResult(summary="the agent was stopped", is_error=True)
        return IterationOutput(
            iteration=request.iteration,
            result=agent_result,
            last_output=last_output,
            budget_exceeded=ledger.reason or "the budget is spent",
            tokens=ledger.tokens,
            cost_usd=ledger.cost_usd,
        )

    @activity.defn(name="publish_change")
    async def publish_change(self, request: PublishInput) -> AgentRunOutput:
        workspace = self.existing_workspace(request.run)
        async with heartbeating({"step": "push"}):
            try:
                config = load_repo_config(await workspace.host.repo_files(request.base_sha))
            except RepoConfigError:
                config = RepoConfig()
            imported = await workspace.import_change(
                request.base_sha, commit_message(request, self.identity), config
            )
            if refused := (*config.forbidden_matches(list(imported.changed_files)), *imported.refused):
                raise ApplicationError(
                    "Paid refuses to push these changes: " + ", ".join(refused),
                    type="ChangeRefused",
                    non_retryable=True,
                )
            if imported.changed_files:
                try:
                    await workspace.push(request.issue.clone_url, imported.commit, request.branch)
                except GitError as error:
                    raise ApplicationError(str(error), type="PushFailed") from error
        return AgentRunOutput(
            branch=request.branch,
            base_sha=request.base_sha,
            head_sha=imported.commit if imported.changed_files else request.base_sha,
            changed_files=len(imported.changed_files),
            result=request.result,
            last_output=request.last_output,
        )

    @activity.defn(name="cleanup_workspace")
    async def cleanup_workspace(self, run: RunContext) -> None:
        """Kills anything the run left running and removes its files; safe to repeat."""
        workspace = self.workspace(run)
        kill_recorded_group(workspace.paths.pgid_file)
        await asyncio.to_thread(workspace.cleanup)


def commit_message(request: PublishInput, identity: Identity) -> str:
    run = request.run
    body = request.summary.strip()[:2000]
    return "\n".join(
        [
            f"Fix #{run.issue.number}: {request.issue.title}",
            "",
            *([body, ""] if body else []),
            f"Made by {describe_agent(run.agent)}, for {request.issue.html_url} (Paid run {run.run_id}).",
            "",
            f"Co-authored-by: {identity.name} <{identity.email}>",
        ]
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
