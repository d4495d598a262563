"""A run's files on its worker: the agent's throw-away worktree, and beside it (never mounted in a
sandbox) the host's own repository, which alone fetches, commits and pushes."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from paid_executor.agents.choice import AgentChoiceError, AgentPolicy, choose_agent
from paid_executor.config import ExecutorSettings
from paid_executor.host_repository import HostRepository
from paid_executor.params import IssueDetails, RunContext
from paid_executor.repo_config import RepoConfig, RepoConfigError, load_repo_config
from paid_executor.workspace import Identity, sanitise
from paid_executor.worktree_import import ImportedChange, import_worktree


@dataclass(frozen=True)
class RunPaths:
    run_dir: Path
    worktree: Path  # the agent's; data to the host
    host_git: Path  # the host's; no sandbox mounts it
    prompt_file: Path
    pgid_file: Path


@dataclass(frozen=True)
class PreparedWorkspace:
    base_sha: str
    config: RepoConfig | None
    config_error: str | None


class RunWorkspace:
    def __init__(self, settings: ExecutorSettings, run: RunContext) -> None:
        self.settings = settings
        self.run = run
        run_dir = settings.workspace_root / sanitise(run.workflow_id)
        self.paths = RunPaths(
            run_dir=run_dir,
            worktree=run_dir / run.run_id,
            host_git=run_dir / f"{run.run_id}.host.git",
            prompt_file=run_dir / f"{run.run_id}.prompt.md",
            pgid_file=run_dir / f"{run.run_id}.agent-pgid",
        )
        self.identity = Identity(settings.git_author_name, settings.git_author_email)
        self.host = HostRepository(self.paths.host_git, token=settings.github_token, identity=self.identity)

    def exists(self) -> bool:
        return self.paths.worktree.is_dir() and self.paths.host_git.is_dir()

    async def prepare(self, issue: IssueDetails, branch: str) -> PreparedWorkspace:
        """Fetches the base into a fresh host repository and copies it out as the agent's worktree;
        the configuration comes from the base commit, whatever the agent later writes."""
        shutil.rmtree(self.paths.worktree, ignore_errors=True)
        base = await self.host.fetch_base(issue.clone_url, issue.default_branch)
        await self.host.check_out(self.paths.worktree, branch, public_url=issue.clone_url)
        try:
            config = load_repo_config(await self.host.repo_files(base))
            choice = choose_agent(
                self.agent_policy(), repository_agent=config.agent, repository_model=config.model
            )
        except (RepoConfigError, AgentChoiceError) as error:
            return PreparedWorkspace(base_sha=base, config=None, config_error=str(error))
        # From here on the configuration names the agent and model the run uses, whoever chose them.
        chosen = config.model_copy(update={"agent": choice.agent, "model": choice.model})
        return PreparedWorkspace(base_sha=base, config=chosen, config_error=None)

    def agent_policy(self) -> AgentPolicy:
        """The project's setting: the run's agent, fixed when it was requested, with the configured
        model when that agent is the configured one."""
        settings, agent = self.settings, self.run.agent
        model = settings.agent_model if agent == settings.agent else None
        return AgentPolicy(agent=agent, model=model, allowed=frozenset(settings.allowed_agents))

    async def import_change(self, base: str, message: str, config: RepoConfig) -> ImportedChange:
        return await import_worktree(
            self.host,
            self.paths.worktree,
            base=base,
            message=message,
            max_file_bytes=self.settings.max_file_bytes,
            allow_workflow_changes=config.allow_workflow_changes,
        )

    async def push(self, url: str, commit: str, branch: str) -> None:
        await self.host.push(url, commit, branch)

    def cleanup(self) -> None:
        shutil.rmtree(self.paths.worktree, ignore_errors=True)
        shutil.rmtree(self.paths.host_git, ignore_errors=True)
        self.paths.prompt_file.unlink(missing_ok=True)
        self.paths.pgid_file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # only when empty
            self.paths.run_dir.rmdir()
