"""The iteration activity: the prompt, the agent (started by launch.py), the repository's checks in
the same sandbox, and the diff, read from the host's import of the worktree. The worktree's own
activities (prepare, publish, cleanup) are in worktrees.py."""

from __future__ import annotations

import asyncio
import functools
import hashlib

from temporalio import activity
from temporalio.exceptions import ApplicationError

from paid_executor.activities.deps import ExecutorDeps
from paid_executor.activities.launch import Launcher
from paid_executor.activities.output import OutputPublisher
from paid_executor.activities.pinned_issue import unchanged_meanwhile
from paid_executor.activities.worktrees import WorktreeActivities, heartbeating
from paid_executor.agents.base import AgentResult
from paid_executor.agents.registry import adapter_for
from paid_executor.instructions import agents_md, with_agents_md
from paid_executor.params import CheckResult, IterationInput, IterationOutput
from paid_executor.prompts import iteration_prompt
from paid_executor.proxy import Budget, Cap, Ledger
from paid_executor.sandbox import SandboxError
from paid_executor.workspace import sanitise
from paid_runtime.messaging import publish_event


class IterationActivities(WorktreeActivities):
    def __init__(self, deps: ExecutorDeps, *, home_queue: str | None = None) -> None:
        """`home_queue`: the task queue only this process polls (worker.home_queue_for)."""
        super().__init__(deps, home_queue=home_queue)
        self.launcher = Launcher(
            deps.settings,
            self.identity,
            deps.sessions.kw.get("bind"),
            functools.partial(publish_event, deps.broker),
        )

    async def stop(self) -> None:
        await self.launcher.stop()

    @activity.defn(name="run_iteration")
    async def run_iteration(self, request: IterationInput) -> IterationOutput:
        settings, run, config = self.deps.settings, request.run, request.config
        workspace = self.existing_workspace(run)
        paths = workspace.paths
        try:
            sandbox = self.launcher.sandbox(request.sandbox)
            adapter = adapter_for(config.agent or run.agent, settings, model=config.model)
        except (SandboxError, ValueError) as error:
            raise ApplicationError(str(error), type="NotConfigured", non_retryable=True) from error
        prompt = iteration_prompt(
            request.prompt,
            iteration=request.iteration,
            feedback=request.feedback,
            instructions=request.instructions,
        )
        # The check of the live issue against the pinned text runs while the launch is prepared.
        async with unchanged_meanwhile(self.deps, run) as unchanged:
            if adapter.agents_md_in_prompt:
                prompt = with_agents_md(prompt, await agents_md(workspace.host, request.base_sha))
            paths.prompt_file.write_text(prompt)
            run_cap = Cap(request.max_tokens, request.max_cost_usd).lowered(
                Cap(config.max_tokens, config.max_cost_usd)
            )
            budget = Budget(
                max_tokens=None if run_cap.tokens is None else run_cap.tokens - request.spent_tokens,
                max_cost_usd=None if run_cap.usd is None else run_cap.usd - request.spent_cost_usd,
            )
            step = {"step": "agent", "iteration": request.iteration}
            # A re-homed run does an iteration again: its output gets event ids of its own.
            scope = f"iteration-{request.iteration}" + (f"-home-{request.rehomes}" if request.rehomes else "")
            async with self.launcher.metered(
                sandbox,
                request.sandbox,
                run_id=run.run_id,
                run_key=sanitise(f"{run.run_id}-{request.iteration}"),
                paths=paths,
                budget=budget,
                policy=settings.spend_policy(run.issue.repo.full_name),
                timeout=request.timeout_seconds,
            ) as launch:
                ledger = launch.ledger
                try:
                    invocation = adapter.invocation(prompt, paths.prompt_file)
                    async with OutputPublisher(
                        self.deps.broker, request.run, activity.info().attempt, scope=scope
                    ) as out:
                        await unchanged.passed()  # the live issue still reads as pinned as the agent starts
                        process = await self.launcher.agent(
                            launch, invocation, request.timeout_seconds, step, out.line
                        )
                except FileNotFoundError as error:
                    raise ApplicationError(
                        f"the {adapter.name} agent could not be started: {error}",
                        type="AgentNotFound",
                        non_retryable=True,
                    ) from error
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
        details = {"step": "checks", "iteration": request.iteration}
        for command in (*config.test, *config.lint):
            activity.heartbeat(details | {"last_output": command})
            checks.append(
                await self.launcher.check(
                    launch, command, lambda line: activity.heartbeat(details | {"last_output": line})
                )
            )

        async with heartbeating({"step": "diff", "iteration": request.iteration}):
            imported = await workspace.import_change(
                request.base_sha, f"iteration {request.iteration}", config
            )
            diff, numstat = await asyncio.gather(
                workspace.host.diff(request.base_sha, imported.commit),
                workspace.host.diff(request.base_sha, imported.commit, "--numstat"),
            )
        changed = list(imported.changed_files)
        insertions = deletions = 0
        for row in numstat.splitlines():  # a binary file's counts are "-"
            added, removed, *_ = row.split("\t")
            insertions += int(added) if added.isdigit() else 0
            deletions += int(removed) if removed.isdigit() else 0
        failures = "\n".join(check.output for check in checks if not check.passed)
        return IterationOutput(
            iteration=request.iteration,
            result=result,
            last_output=process.last_line,
            checks=tuple(checks),
            changed_files=tuple(changed),
            changed_lines=insertions + deletions,
            insertions=insertions,
            deletions=deletions,
            forbidden=(*config.forbidden_matches(changed), *imported.refused),
            diff_hash=_digest(diff),
            output_hash=_digest(failures) if failures else "",
            tokens=tokens,
            cost_usd=cost,
            usage=ledger.usage if ledger.calls else None,
            commit=imported.commit,
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
            usage=ledger.usage if ledger.calls else None,
        )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
