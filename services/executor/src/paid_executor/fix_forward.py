"""The fix-forward loop in one worktree: agent, checks, only the failures back to the agent, until the
checks pass or a limit stops it; then the change is published. A lost worktree host is raised as
HostLostError for the workflow to move the run."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from paid_contracts import RunOutcome
    from paid_executor.activities.iterations import IterationActivities
    from paid_executor.params import (
        ExecutionInput,
        IssueDetails,
        IterationInput,
        IterationOutput,
        PublishInput,
        RunContext,
        WorkspaceInfo,
        WorkspaceInput,
    )
    from paid_executor.repo_config import RepoConfig
    from paid_executor.run_failures import HostLostError, failure_detail, host_lost
    from paid_executor.run_limits import (
        AGENT_RETRY,
        GIT_ALLOWANCE,
        MAX_REHOMES,
        MOVE_ALONGSIDE_PATCH,
        QUICK_RETRY,
        REPEAT_LIMIT,
        LoopLimits,
        over_budget,
        stuck_outcome,
    )
    from paid_executor.run_reporting import RunReporting


T = TypeVar("T")


def _observed(attempt: asyncio.Future[Any]) -> None:
    """Reads the dropped attempt's end, so that its failure is not reported as never retrieved."""
    if not attempt.cancelled():
        attempt.exception()


class FixForwardLoop(RunReporting):
    async def _prepare(
        self, run: RunContext, issue: IssueDetails, branch: str, request: ExecutionInput
    ) -> WorkspaceInfo:
        """Clones on whichever worker takes the task from the shared queue; that worker is the home."""
        self._step = "clone"
        workspace = await self._activity(
            workflow.start_activity_method(
                IterationActivities.prepare_workspace,
                WorkspaceInput(run=run, issue=issue, branch=branch),
                start_to_close_timeout=GIT_ALLOWANCE,
                heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_seconds),
                retry_policy=QUICK_RETRY,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        )
        self._home = workspace.task_queue if self._homed else None
        self._lost_homes.discard(workspace.task_queue or "")  # it just answered: back, if it was lost
        return workspace

    async def _move(
        self,
        run: RunContext,
        issue: IssueDetails,
        branch: str,
        request: ExecutionInput,
        lost: HostLostError,
        move: int,
    ) -> WorkspaceInfo:
        """A fresh worktree on whichever worker takes it; the issue is told alongside."""
        note = self._progress(
            run,
            f"the worker holding this run's worktree was lost ({lost.detail}); starting again from a "
            f"fresh clone on another worker (move {move} of at most {MAX_REHOMES})",
        )
        telling = None
        if workflow.patched(MOVE_ALONGSIDE_PATCH):
            telling = asyncio.ensure_future(note)
        else:  # as recorded before: told, then moved
            await note
        if not lost.unreachable:  # the old home may still be up: stop its agent, free its disk
            await self._cleanup(run)
        try:
            return await self._prepare(run, issue, branch, request)
        finally:  # the note precedes anything the run says later
            if telling is not None:
                await telling

    async def _at_home(self, handle: workflow.ActivityHandle[T], *, cancellable: bool = True) -> T:
        """Awaits an activity on the run's home; HostLostError as soon as an executor reports the home's
        process gone (lost_homes.py). The lost attempt is not awaited: its process cannot answer the
        cancellation, and whatever it would return is dropped. `cancellable`: the `cancel` signal may
        interrupt it (not the push, as before)."""
        home = self._home
        if not self._watching_home or home is None:
            return await (self._activity(handle) if cancellable else handle)
        if cancellable:
            if self._cancel_requested:
                handle.cancel()
            self._current = handle
        lost = asyncio.ensure_future(workflow.wait_condition(lambda: home in self._lost_homes))
        try:
            await workflow.wait([handle, lost], return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if self._current is handle:
                self._current = None
        if handle.done():
            return handle.result()
        handle.add_done_callback(_observed)
        handle.cancel()
        raise HostLostError(
            f"the executor process holding the worktree ({home}) is gone: its NATS connection closed",
            unreachable=True,
        )

    async def _fix_forward(
        self,
        run: RunContext,
        request: ExecutionInput,
        issue: IssueDetails,
        prompt: str,
        branch: str,
        workspace: WorkspaceInfo,
        config: RepoConfig,
        loop: LoopLimits,
    ) -> tuple[RunOutcome, str] | None:
        """Iterates in one worktree and publishes its change (then None, with self._change set), or
        returns how the run ended. HostLostError when the worktree's worker does not answer."""
        diffs: dict[str, int] = {}
        outputs: dict[str, int] = {}
        feedback: str | None = None
        last: IterationOutput | None = None
        try:
            for iteration in range(loop.first_iteration, loop.max_iterations + 1):
                await self._safe_point()
                remaining = loop.time_limit - (workflow.now() - loop.started).total_seconds()
                if remaining <= 0:
                    return (
                        RunOutcome.BUDGET_EXCEEDED,
                        f"budget exceeded: the time limit of {loop.time_limit:g} s ran out",
                    )
                instructions = tuple(self._instructions)
                self._instructions.clear()
                self._iterations = iteration
                self._step = "agent"
                last = await self._at_home(
                    workflow.start_activity_method(
                        IterationActivities.run_iteration,
                        IterationInput(
                            run=run,
                            issue=issue,
                            branch=branch,
                            base_sha=workspace.base_sha,
                            iteration=iteration,
                            prompt=prompt,
                            feedback=feedback,
                            instructions=instructions,
                            config=config,
                            sandbox=request.sandbox,
                            timeout_seconds=remaining,
                            max_tokens=request.max_tokens,
                            max_cost_usd=request.max_cost_usd,
                            spent_tokens=self._tokens,
                            spent_cost_usd=self._cost,
                            rehomes=loop.rehomes,
                        ),
                        start_to_close_timeout=timedelta(seconds=remaining) + GIT_ALLOWANCE,
                        heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_seconds),
                        retry_policy=AGENT_RETRY,
                        cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                        task_queue=self._home,
                        schedule_to_start_timeout=self._home_start_timeout if self._home else None,
                    )
                )
                self._iteration_summaries.append(last.summary())
                self._tokens += last.tokens
                self._cost += last.cost_usd
                if last.usage is not None:
                    self._usage = last.usage if self._usage is None else self._usage + last.usage
                self._last_output = last.last_output
                if last.budget_exceeded:
                    return RunOutcome.BUDGET_EXCEEDED, f"budget exceeded: {last.budget_exceeded}"
                if over := over_budget(self._tokens, self._cost, request):
                    return RunOutcome.BUDGET_EXCEEDED, f"budget exceeded: {over}"
                problems = [check.output for check in last.failed_checks]
                if last.forbidden:
                    problems.append(
                        "You changed paths this repository does not let Paid change; revert them: "
                        + ", ".join(last.forbidden)
                    )
                if config.max_changed_lines is not None and last.changed_lines > config.max_changed_lines:
                    problems.append(
                        f"The change has {last.changed_lines} changed lines; the limit is "
                        f"{config.max_changed_lines}. Make it smaller."
                    )
                self._last_failure = "\n\n".join(problems) or None
                if not problems:
                    break
                diffs[last.diff_hash] = diffs.get(last.diff_hash, 0) + 1
                if last.output_hash:
                    outputs[last.output_hash] = outputs.get(last.output_hash, 0) + 1
                if diffs[last.diff_hash] >= REPEAT_LIMIT or outputs.get(last.output_hash, 0) >= REPEAT_LIMIT:
                    what = "diff" if diffs[last.diff_hash] >= REPEAT_LIMIT else "failures"
                    return stuck_outcome(last), (
                        f"stopped after {iteration} iterations: the agent produced the same "
                        f"{what} {REPEAT_LIMIT} times"
                    )
                feedback = self._last_failure
                await self._progress(
                    run, f"iteration {iteration} of {loop.max_iterations} left failures; trying again"
                )
            assert last is not None
            if self._last_failure is not None:
                return stuck_outcome(last), (
                    f"after {loop.max_iterations} iteration(s) "
                    + ("the tests still fail" if last.failed_checks else "the change still breaks the limits")
                )
            if not last.changed_files:
                return RunOutcome.NO_CHANGES, "the agent changed no file"
            await self._safe_point()
            self._step = "publish"
            self._change = await self._at_home(
                workflow.start_activity_method(
                    IterationActivities.publish_change,
                    PublishInput(
                        run=run,
                        issue=issue,
                        branch=branch,
                        base_sha=workspace.base_sha,
                        summary=last.result.summary,
                        result=last.result,
                        last_output=last.last_output,
                        checked_commit=last.commit,
                    ),
                    start_to_close_timeout=GIT_ALLOWANCE,
                    heartbeat_timeout=timedelta(seconds=max(request.heartbeat_timeout_seconds, 30)),
                    retry_policy=QUICK_RETRY,
                    task_queue=self._home,
                    schedule_to_start_timeout=self._home_start_timeout if self._home else None,
                ),
                cancellable=False,
            )
        except ActivityError as error:
            if self._home is not None and not self._cancel_requested and (lost := host_lost(error)):
                waited = self._home_start_timeout.total_seconds()
                detail = {
                    "unreachable": f"{error.activity_type} waited {waited:g} s on {self._home} and no "
                    "worker took it",
                    "silent": f"{error.activity_type} stopped heartbeating on {self._home}",
                    "missing": failure_detail(error),
                }[lost]
                raise HostLostError(detail, unreachable=lost == "unreachable") from error
            raise
        return None
