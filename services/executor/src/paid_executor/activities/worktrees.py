"""The worktree's activities: prepare (fetch, copy out, read .paid.yml from the base), publish
(import the worktree into the host's repository, commit, push) and cleanup. The worktree lives on the
worker process that prepared it: prepare_workspace (on the shared queue) answers with that process's
own task queue (its "home"), where the workflow schedules the others; cleanup is idempotent and
always runs."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from paid_executor.activities.deps import ExecutorDeps
from paid_executor.activities.pinned_issue import unchanged_meanwhile
from paid_executor.agents.process import kill_recorded_group
from paid_executor.agents.registry import describe_agent
from paid_executor.lost_homes import record_home
from paid_executor.params import AgentRunOutput, PublishInput, RunContext, WorkspaceInfo, WorkspaceInput
from paid_executor.repo_config import RepoConfig, RepoConfigError, load_repo_config
from paid_executor.run_workspace import RunWorkspace
from paid_executor.workspace import GitError, Identity

# Each run's worktree prepared in this process and not yet cleaned up -> the home queue of the worker
# that prepared it last, and its workspace: a worker that stops releases what it still holds.
_PREPARED: dict[Path, tuple[str | None, RunWorkspace]] = {}


async def release_runs(home_queue: str | None) -> list[Path]:
    """Kills the agents and removes the files (unmounting the overlays) of the runs the worker of
    `home_queue` prepared and nobody cleaned up; call once that worker has stopped. Its runs cannot
    come back to it: its home queue stops with it, and the workflow moves each to a fresh worktree."""
    released = []
    for worktree, (home, workspace) in list(_PREPARED.items()):
        if home == home_queue:
            kill_recorded_group(workspace.paths.pgid_file)
            await asyncio.to_thread(workspace.cleanup)
            _PREPARED.pop(worktree, None)
            released.append(worktree)
    return released


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


class WorktreeActivities:
    def __init__(self, deps: ExecutorDeps, *, home_queue: str | None = None) -> None:
        """`home_queue`: the task queue only this process polls (worker.home_queue_for)."""
        self.deps = deps
        self.home_queue = home_queue

    @property
    def identity(self) -> Identity:
        return Identity(self.deps.settings.git_author_name, self.deps.settings.git_author_email)

    def workspace(self, run: RunContext) -> RunWorkspace:
        return RunWorkspace(self.deps.settings, run)

    def take_workspace(self, run: RunContext) -> RunWorkspace:
        """The run's workspace, about to be prepared here: held by this worker until cleaned up."""
        workspace = self.workspace(run)
        _PREPARED[workspace.paths.worktree] = (self.home_queue, workspace)
        return workspace

    @activity.defn(name="prepare_workspace")
    async def prepare_workspace(self, request: WorkspaceInput) -> WorkspaceInfo:
        workspace = self.take_workspace(request.run)
        kill_recorded_group(workspace.paths.pgid_file)  # an earlier attempt's agent, if its worker was killed
        # Written alongside the clone: the other executors watch this home for the run (lost_homes.py).
        recording = asyncio.create_task(self._record_home(request.run))
        try:
            async with heartbeating({"step": "clone"}):
                prepared = await workspace.prepare(
                    request.issue, request.branch, token=functools.partial(self.deps.run_token, request.run)
                )
        except GitError as error:
            raise ApplicationError(str(error), type="CloneFailed") from error
        finally:
            await recording
        return WorkspaceInfo(
            base_sha=prepared.base_sha,
            config=prepared.config,
            config_error=prepared.config_error,
            experiment_used=prepared.experiment_used,
            task_queue=self.home_queue,
        )

    async def _record_home(self, run: RunContext) -> None:
        if self.home_queue is not None:
            await record_home(
                self.deps.sessions, run_id=run.run_id, workflow_id=run.workflow_id, home_queue=self.home_queue
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

    @activity.defn(name="publish_change")
    async def publish_change(self, request: PublishInput) -> AgentRunOutput:
        workspace = self.existing_workspace(request.run)
        async with unchanged_meanwhile(self.deps, request.run) as unchanged, heartbeating({"step": "push"}):
            try:
                config = load_repo_config(await workspace.host.repo_files(request.base_sha))
            except RepoConfigError:
                config = RepoConfig()
            imported = await workspace.publishable_change(
                request.checked_commit, request.base_sha, commit_message(request, self.identity), config
            )
            if refused := (*config.forbidden_matches(list(imported.changed_files)), *imported.refused):
                raise ApplicationError(
                    "Paid refuses to push these changes: " + ", ".join(refused),
                    type="ChangeRefused",
                    non_retryable=True,
                )
            await unchanged.passed()  # the live issue still reads as pinned: nothing pushed otherwise
            if imported.changed_files:
                # Asked again at each push: a long run's token is re-minted when it nears expiry.
                token = await self.deps.run_token(request.run, allow_workflows=config.allow_workflow_changes)
                try:
                    await workspace.push(
                        request.issue.clone_url, imported.commit, request.branch, token=token
                    )
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
        _PREPARED.pop(workspace.paths.worktree, None)


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
