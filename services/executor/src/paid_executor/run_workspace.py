"""A run's files on its worker: the agent's throw-away worktree, and beside it (never mounted in a
sandbox) the host's own repository, which alone commits and pushes; its base comes from the host's
mirror of the repository (repository_cache.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from paid_executor.agents.choice import (
    AgentChoice,
    AgentChoiceError,
    AgentPolicy,
    ExperimentArmChoice,
    TriggerChoice,
    choose_agent,
    evolution_choice,
    kept_policy,
)
from paid_executor.base_configs import base_config
from paid_executor.config import ExecutorSettings
from paid_executor.host_repository import HostRepository
from paid_executor.instructions import hidden_instructions, hide_from_agent
from paid_executor.params import IssueDetails, RunContext
from paid_executor.repo_config import RepoConfig, RepoConfigError
from paid_executor.repository_cache import TREES_DIR, RepositoryCache, Token, repository_cache
from paid_executor.tree_overlay import OverlayTrees, unmount_worktree
from paid_executor.workspace import GitError, Identity, sanitise
from paid_executor.workspace_owners import OWNER_SUFFIX, mark_owned
from paid_executor.worktree_import import ImportedChange, import_worktree, recommit


@dataclass(frozen=True)
class RunPaths:
    run_dir: Path
    worktree: Path  # the agent's; data to the host
    overlay_upper: Path  # the run's writes, where its worktree is an overlay (tree_overlay.py)
    overlay_work: Path
    host_git: Path  # the host's; no sandbox mounts it
    prompt_file: Path
    pgid_file: Path


@dataclass(frozen=True)
class PreparedWorkspace:
    base_sha: str
    config: RepoConfig | None
    config_error: str | None
    experiment_used: bool = False


class RunWorkspace:
    def __init__(self, settings: ExecutorSettings, run: RunContext) -> None:
        self.settings = settings
        self.run = run
        run_dir = settings.workspace_root / sanitise(run.workflow_id)
        self.paths = RunPaths(
            run_dir=run_dir,
            worktree=run_dir / run.run_id,
            overlay_upper=run_dir / f"{run.run_id}.upper",
            overlay_work=run_dir / f"{run.run_id}.overlay-work",
            host_git=run_dir / f"{run.run_id}.host.git",
            prompt_file=run_dir / f"{run.run_id}.prompt.md",
            pgid_file=run_dir / f"{run.run_id}.agent-pgid",
        )
        self.identity = Identity(settings.git_author_name, settings.git_author_email)
        self.host = HostRepository(self.paths.host_git, identity=self.identity)
        self.cache: RepositoryCache = repository_cache(
            settings.repository_cache_dir, max_bytes=settings.repository_cache_max_bytes
        )
        self.trees = OverlayTrees(settings.repository_cache_dir / TREES_DIR, settings.worktree_overlay_driver)

    def exists(self) -> bool:
        """An overlay worktree whose mount is gone (a reboot) is an empty directory: never taken for
        the run's tree, whose import would then delete every file."""
        paths = self.paths
        lost_mount = paths.overlay_upper.exists() and not os.path.ismount(paths.worktree)
        return paths.worktree.is_dir() and paths.host_git.is_dir() and not lost_mount

    async def prepare(self, issue: IssueDetails, branch: str, *, token: Token) -> PreparedWorkspace:
        """Brings the base into the host's mirror, gives the run a host repository over it and copies
        the base out as the agent's worktree; the configuration comes from the base commit, whatever
        the agent later writes. A mirror found corrupt on the way is rebuilt, once. The base is the
        commit GitHub reported beside the issue when the mirror holds it, with no fetch."""
        try:
            base = await self._check_out(issue, branch, token)
        except GitError:
            if not await self.cache.discard_if_corrupt(issue.clone_url):
                raise
            base = await self._check_out(issue, branch, token)
        try:
            config, choice = await self.configuration(base)
        except (RepoConfigError, AgentChoiceError) as error:
            return PreparedWorkspace(base_sha=base, config=None, config_error=str(error))
        return PreparedWorkspace(
            base_sha=base, config=config, config_error=None, experiment_used=choice.experiment_used
        )

    async def configuration(self, base: str) -> tuple[RepoConfig, AgentChoice]:
        """`.paid.yml` at the trusted commit `base`, with the agent and model the run uses, whichever
        level chose them (agents/choice.py). Raises RepoConfigError or AgentChoiceError."""
        config = await base_config(self.host, base)
        choice = choose_agent(
            self.agent_policy(),
            repository_agent=config.agent,
            repository_model=config.model,
            trigger=TriggerChoice(self.run.trigger_agent, self.run.trigger_model),
            experiment=self.experiment_arm(),
        )
        return config.model_copy(update={"agent": choice.agent, "model": choice.model}), choice

    def experiment_arm(self) -> ExperimentArmChoice | None:
        run = self.run
        return evolution_choice(
            run.experiment_id, run.experiment_arm, run.experiment_agent, run.experiment_model
        )

    def agent_policy(self) -> AgentPolicy:
        """The project's setting, fixed when the run was requested (agents/choice.py)."""
        run = self.run
        return kept_policy(
            self.settings,
            run_agent=run.agent,
            project_agent=run.project_agent,
            project_model=run.project_model,
        )

    async def attach_base(self, issue: IssueDetails, *, token: Token, known_base: str | None = None) -> str:
        """The base brought into the host's mirror, and the run's host repository over it; answers the
        base commit. The agent's worktree is not made here. `known_base`: see RepositoryCache.refresh."""
        await asyncio.to_thread(self._take_over)
        mirrored = await self.cache.refresh(
            issue.clone_url,
            issue.default_branch,
            token=token,
            pin=self.paths.host_git,
            known_base=known_base,
        )
        await self.host.attach_base(mirrored.mirror, mirrored.base_sha)
        return mirrored.base_sha

    async def _check_out(self, issue: IssueDetails, branch: str, token: Token) -> str:
        base = await self.attach_base(issue, token=token, known_base=issue.base_sha)
        paths = self.paths
        if self.settings.worktree_overlay and await asyncio.to_thread(self.trees.available):
            tree = await self.trees.base_tree(self.host)
            if await self.trees.mount(tree, paths.worktree, paths.overlay_upper, paths.overlay_work):
                await self.host.start_branch(paths.worktree, branch, public_url=issue.clone_url)
                await self.hide_instructions(base)
                return base
            await asyncio.to_thread(self._remove_worktree)
        await self.host.check_out(paths.worktree, branch, public_url=issue.clone_url)
        await self.hide_instructions(base)
        return base

    async def hide_instructions(self, commit: str) -> None:
        """Linked or oversized instructions files of `commit` leave the agent's copy of it; the
        import of a change on `commit` keeps them as they were (instructions.py)."""
        hide_from_agent(self.paths.worktree, await hidden_instructions(self.host, commit))

    def _take_over(self) -> None:
        """This process owns the run's files from here on (a start-up reaper removes them if it dies)."""
        mark_owned(self.settings.workspace_root, self.paths.run_dir, self.run.run_id)
        self._remove_worktree()

    def _remove_worktree(self) -> None:
        unmount_worktree(self.paths.worktree)
        for path in (self.paths.worktree, self.paths.overlay_upper, self.paths.overlay_work):
            shutil.rmtree(path, ignore_errors=True)

    async def import_change(self, base: str, message: str, config: RepoConfig) -> ImportedChange:
        return await import_worktree(
            self.host,
            self.paths.worktree,
            base=base,
            message=message,
            max_file_bytes=self.settings.max_file_bytes,
            allow_workflow_changes=config.allow_workflow_changes,
            kept=await hidden_instructions(self.host, base),
        )

    async def publishable_change(
        self, checked: str, base: str, message: str, config: RepoConfig
    ) -> ImportedChange:
        """What the last iteration imported after its checks, committed with `message`; the worktree is
        imported again only when this host does not hold that import."""
        allow_workflows = config.allow_workflow_changes
        recommitted = await recommit(
            self.host, checked, base=base, message=message, allow_workflow_changes=allow_workflows
        )
        return recommitted or await self.import_change(base, message, config)

    async def push(self, url: str, commit: str, branch: str, *, token: str) -> None:
        await self.host.push(url, commit, branch, token=token)

    def cleanup(self) -> None:
        self._remove_worktree()
        shutil.rmtree(self.paths.host_git, ignore_errors=True)
        self.paths.prompt_file.unlink(missing_ok=True)
        self.paths.pgid_file.unlink(missing_ok=True)
        (self.paths.run_dir / f"{self.run.run_id}{OWNER_SUFFIX}").unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # only when empty
            self.paths.run_dir.rmdir()
