from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from paid_runtime.settings import GitHubSettings


class PlannerSettings(GitHubSettings):
    model_config = SettingsConfigDict(env_prefix="PAID_PLANNER_", extra="ignore")

    http_port: int = 8102
    db_schema: str = "planner"
    task_queue: str = "paid-planner"
    graceful_shutdown_seconds: float = 30.0
