from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from paid_contracts.agents import AgentName, ChoosableAgentName
from paid_executor.admission import AdmissionLimits
from paid_executor.proxy.budgets import Cap, SpendPolicy
from paid_runtime.settings import GitHubSettings

SandboxName = Literal["bwrap", "docker", "none", "local"]  # local: the old name of none


class ExecutorSettings(GitHubSettings):
    model_config = SettingsConfigDict(env_prefix="PAID_EXECUTOR_", extra="ignore")

    http_port: int = 8103
    db_schema: str = "executor"
    task_queue: str = "paid-executor"
    workspace_root: Path = Field(default_factory=lambda: Path.home() / ".paid" / "workspaces")
    repository_cache_root: Path | None = Field(
        default=None,
        description="where this host keeps one mirror per repository (default: repository-cache beside "
        "the workspace root); never inside the workspace root, which holds what agents write",
    )
    repository_cache_max_bytes: int = Field(
        default=20 * 1024**3, ge=0, description="mirrors no run uses are evicted, oldest first, above this"
    )
    worktree_overlay: bool = Field(
        default=True,
        description="give each run an overlayfs worktree over a read-only copy of its base, where this "
        "host may mount (else each run gets its own copy)",
    )
    worktree_overlay_driver: Literal["auto", "kernel", "fuse"] = Field(
        default="auto",
        description="kernel: overlayfs (needs CAP_SYS_ADMIN); fuse: fuse-overlayfs (the Debian package, "
        "with /dev/fuse); auto: the kernel's where this host may mount, else fuse-overlayfs",
    )
    eager_workflow_start: bool = Field(
        default=True,
        description="ask Temporal to hand a new run's first workflow task straight back to this "
        "process's worker in the start reply (eager start), saving a poll round trip; the server "
        "falls back to the task queue when no local slot is free or it has eager start disabled",
    )
    agent: AgentName = "demo"
    agent_command: str = Field(
        default="",
        description="argv template of the `command` agent, split like a shell; {prompt_file} and {prompt} "
        "are replaced. The prompt is also on stdin and in $PAID_PROMPT_FILE.",
    )
    claude_executable: str = Field(default="claude", description="path of Claude Code's `claude`")
    aider_executable: str = Field(default="aider", description="path of Aider's `aider`")
    opencode_executable: str = Field(default="opencode", description="path of opencode's `opencode`")
    codex_executable: str = Field(default="codex", description="path of Codex's `codex`")
    gemini_executable: str = Field(default="gemini", description="path of Gemini CLI's `gemini`")
    agent_model: str | None = Field(default=None, description="model flag for agents that take one")
    allowed_agents: list[ChoosableAgentName] = Field(
        default_factory=list,
        description="agents a repository's .paid.yml may choose besides `agent` (never `command`); "
        "see docs/agents.md for the precedence",
    )
    agent_timeout_seconds: float = 30 * 60
    heartbeat_timeout_seconds: float = Field(
        default=60,
        description="the last resort for a run whose worker is lost without its NATS connection closing "
        "(a killed process's runs move within seconds, lost_homes.py); short values make a busy host's "
        "runs look dead",
    )
    home_start_timeout_seconds: float = Field(
        default=30,
        gt=0,
        description="how long an activity that needs this worker's worktree may wait to start on the "
        "worker's own task queue before the run is taken for lost and moved to another worker",
    )
    sandbox: SandboxName = Field(
        default="bwrap",
        description="where agents run: bwrap (no network but the proxy, only the worktree writable), "
        "docker, or none (a plain process with the worker's access: refused in production)",
    )
    sandbox_image: str = Field(
        default="paid/python:3.11", description="the docker sandbox's image: the agent's tools and python3"
    )
    sandbox_shared_dir: Path | None = Field(
        default=None,
        description="for the docker sandbox when the executor itself runs in a container: a directory "
        "at the same path here and on the Docker engine's host, where the metering proxy's socket and the "
        "sandbox's bridge are placed so that the engine can bind them (deploy/compose.docker-sandbox.yml)",
    )
    sandbox_read_only: list[Path] = Field(
        default_factory=list, description="extra host paths sandboxed agents may read, e.g. a node install"
    )
    sandbox_pids_limit: int = Field(default=512, ge=16)
    sandbox_memory_bytes: int = Field(default=2 * 1024**3, ge=64 * 1024**2)
    sandbox_cpus: float = Field(default=2.0, gt=0, description="docker's CPU quota; bwrap bounds CPU time")
    max_file_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="larger files an agent writes are refused, not pushed"
    )
    max_iterations: int | None = Field(default=None, ge=1, description="overrides .paid.yml when set")
    run_time_limit_seconds: float | None = Field(default=None, gt=0)
    # Budgets are on by default (README, "Budgets"); an unset value is no limit in that unit.
    run_max_tokens: int | None = Field(default=5_000_000, ge=1)
    run_max_cost_usd: float | None = Field(default=5.0, gt=0)
    budgets_shared: bool = Field(
        default=True, description="count calls against the project and global budgets in the shared ledger"
    )
    project_daily_max_tokens: int | None = Field(default=20_000_000, ge=1)
    project_daily_max_cost_usd: float | None = Field(default=20.0, gt=0)
    project_monthly_max_tokens: int | None = Field(default=200_000_000, ge=1)
    project_monthly_max_cost_usd: float | None = Field(default=200.0, gt=0)
    global_monthly_max_tokens: int | None = Field(default=None, ge=1)
    global_monthly_max_cost_usd: float | None = Field(default=1000.0, gt=0)
    budget_time_zone: str = Field(default="UTC", description="where projects' days and months begin")
    spend_reserve_tokens_per_call: int = Field(
        default=200_000, ge=1, description="what one model call reserves: an upper bound of its tokens"
    )
    spend_reserve_cost_usd_per_call: float = Field(
        default=0.5, gt=0, description="what one model call reserves: an upper bound of its cost"
    )
    spend_lease_seconds: float = Field(
        default=30, gt=0, description="how long a dead worker's reservations keep counting"
    )
    check_timeout_seconds: float = 15 * 60
    cost_rollup_every_hours: float = Field(
        default=24, ge=0, description="how often the cost roll-up's schedule fires (0: no schedule is made)"
    )
    workspace_sweep_every_minutes: float = Field(
        default=10,
        ge=0,
        description="how often the worktrees of dead workers on this host are removed (0: at start only)",
    )
    anthropic_base_url: str = "https://api.anthropic.com"
    anthropic_api_key: str = ""
    openai_base_url: str = "https://api.openai.com"
    openai_api_key: str = ""
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    gemini_api_key: str = ""
    max_concurrent_activities: int = Field(
        default=1000, ge=1, description="runs one worker holds at once (an agent is a process, not a thread)"
    )
    heartbeat_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description="an activity's heartbeats reach Temporal at most this often: a cancelled run's agent is "
        "killed within about this long, and each heartbeat is a request the server persists (the largest "
        "share of a run's requests but polls; bench/throughput.py counts them)",
    )
    child_watcher: Literal["pidfd", "threads"] = Field(
        default="pidfd",
        description="how the worker waits for its agents' processes: pidfd (one file descriptor each, "
        "where the kernel has pidfd_open) or threads (asyncio's default on Python 3.11: a thread each)",
    )
    max_cached_workflows: int = Field(
        default=1000,
        ge=0,
        description="workflows the worker keeps in memory between their tasks; one evicted replays its "
        "history when it next wakes (a run waiting on its agent wakes once, when the agent ends)",
    )
    # Runs holding a slot at once (README, "Fair concurrency"); runs past a limit wait as queued.
    max_running_runs: int = Field(default=16, description="runs started and not finished, in all")
    max_running_runs_per_project: int = Field(default=4, description="the same, per project")
    max_running_runs_per_provider: int = Field(default=8, description="the same, per model provider")
    project_max_running_runs: dict[str, int] = Field(
        default_factory=dict,
        description="per-project overrides of max_running_runs_per_project, by owner/repo (JSON)",
    )
    admission_poll_seconds: float = Field(
        default=30,
        gt=0,
        description="how often a queued run looks again for a slot, besides being woken when one frees",
    )
    round_cap: int = Field(
        default=3, ge=0, description="follow-up rounds of each kind (review, CI, conflict) per pull request"
    )
    trusted_reviewers: list[str] = Field(
        default_factory=list,
        description="logins whose reviews start rounds without write access (besides collaborators with it)",
    )
    ci_check_apps: list[str] = Field(
        default_factory=list,
        description="slugs of the GitHub Apps whose failing check runs may start CI rounds (none: none do)",
    )
    ci_status_creators: list[str] = Field(
        default_factory=list,
        description="logins whose failing commit statuses may start CI rounds (none: none do)",
    )
    auto_fix_ci: bool = Field(default=False, description="CI rounds without the fix-CI label")
    fix_ci_label: str = "paid-fix-ci"
    git_author_name: str = "Paid"
    git_author_email: str = "paid@localhost"

    @field_validator("max_running_runs", "max_running_runs_per_project", "max_running_runs_per_provider")
    @classmethod
    def _positive_limit(cls, value: int, info: ValidationInfo) -> int:
        if value < 1:
            raise ValueError(
                f"PAID_EXECUTOR_{str(info.field_name).upper()}={value}: a run limit must be at least 1 "
                "(queued runs would never start)"
            )
        return value

    @field_validator("project_max_running_runs")
    @classmethod
    def _positive_project_limits(cls, value: dict[str, int]) -> dict[str, int]:
        for project, limit in value.items():
            if limit < 1:
                raise ValueError(
                    f"PAID_EXECUTOR_PROJECT_MAX_RUNNING_RUNS[{project[:100]!r}]={limit}: a run limit must be "
                    "at least 1 (queued runs would never start)"
                )
        return value

    def admission_limits(self) -> AdmissionLimits:
        return AdmissionLimits(
            total=self.max_running_runs,
            per_project=self.max_running_runs_per_project,
            per_provider=self.max_running_runs_per_provider,
            projects=self.project_max_running_runs,
        )

    @model_validator(mode="after")
    def _sandboxed_in_production(self) -> ExecutorSettings:
        if self.environment == "production" and self.sandbox in ("none", "local"):
            raise ValueError(
                f"PAID_EXECUTOR_SANDBOX={self.sandbox} runs agents without isolation, next to the GitHub "
                "token; a production executor refuses it (choose bwrap or docker)"
            )
        return self

    @model_validator(mode="after")
    def _known_time_zone(self) -> ExecutorSettings:
        self.spend_policy("-")  # ValueError for an unknown zone, at startup rather than at a run
        return self

    def spend_policy(self, project: str) -> SpendPolicy | None:
        """The shared budgets a project's calls count against; None when they are off."""
        if not self.budgets_shared:
            return None
        return SpendPolicy(
            project=project,
            day=Cap(self.project_daily_max_tokens, self.project_daily_max_cost_usd),
            month=Cap(self.project_monthly_max_tokens, self.project_monthly_max_cost_usd),
            global_month=Cap(self.global_monthly_max_tokens, self.global_monthly_max_cost_usd),
            time_zone=self.budget_time_zone,
        )

    def spend_estimate(self) -> Cap:
        return Cap(self.spend_reserve_tokens_per_call, self.spend_reserve_cost_usd_per_call)

    @property
    def repository_cache_dir(self) -> Path:
        return self.repository_cache_root or self.workspace_root.parent / "repository-cache"

    @property
    def github_web_url(self) -> str:
        """https://github.com for api.github.com; the host root for GitHub Enterprise and the emulator."""
        parts = urlsplit(self.github_api_url)
        if parts.hostname == "api.github.com":
            return "https://github.com"
        path = parts.path.rstrip("/").removesuffix("/api/v3")
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
