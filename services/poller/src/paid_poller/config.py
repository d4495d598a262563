from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from paid_runtime.settings import GitHubSettings


class PollerSettings(GitHubSettings):
    model_config = SettingsConfigDict(env_prefix="PAID_POLLER_", extra="ignore")

    http_port: int = 8101
    db_schema: str = "poller"
    task_queue: str = "paid-poller"
    poll_interval_seconds: float = Field(default=60.0, gt=0)
    # Each cycle adds about a dozen history events; continuing as new keeps the history small.
    cycles_per_run: int = Field(default=200, gt=0)
    # Until the project registry publishes projects, the repositories to poll are configured here.
    repositories: Annotated[list[str], NoDecode] = []
    graceful_shutdown_seconds: float = 30.0
    # Fernet keys (newest first) that decrypt the project tokens the gateway announces; as the gateway's.
    secrets_keys: Annotated[list[str], NoDecode] = []
    build_label: str = "paid-build"
    plan_label: str = "paid-plan"

    @field_validator("repositories", "secrets_keys", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("repositories")
    @classmethod
    def _owner_slash_name(cls, value: list[str]) -> list[str]:
        for full_name in value:
            owner, _, name = full_name.partition("/")
            if not owner or not name or "/" in name:
                raise ValueError(f"{full_name!r} is not owner/name")
        return value
