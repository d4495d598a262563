from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from paid_runtime.settings import ServiceSettings

MIB = 1024 * 1024


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAID_GATEWAY_", extra="ignore")

    http_port: int = 8100
    db_schema: str = "gateway"
    # Every secret listed is accepted, so a new one can be configured on the GitHub side and here
    # before the old one is retired.
    webhook_secrets: Annotated[list[str], NoDecode] = []
    max_body_bytes: int = 25 * MIB  # GitHub caps webhook payloads at 25 MB
    publish_timeout_seconds: float = 5.0
    # Every delivery that asks for work reads and writes the deliveries table: under bursts the
    # connections, not the CPU, are what requests would queue for.
    database_pool_size: int = Field(default=20, gt=0)
    # Webhook deliveries handled at once; beyond it a delivery is answered 503 + Retry-After at once
    # (GitHub shows it failed, the poller covers it) instead of queueing behind the others.
    webhook_max_in_flight: int = Field(default=64, gt=0)
    build_label: str = "paid-build"
    plan_label: str = "paid-plan"
    # Fernet keys, newest first, for the tokens and webhook secrets of projects (shared with the poller).
    secrets_keys: Annotated[list[str], NoDecode] = []
    # The bootstrap admin: accepted as an admin API token, never stored; empty means only stored tokens.
    admin_token: str = ""
    # Evolution's API, served under /api/evolution with the gateway's roles; the internal token is
    # evolution's PAID_EVOLUTION_API_TOKEN. Empty: those routes answer 503.
    evolution_api_url: str = "http://127.0.0.1:8104"
    evolution_api_token: str = ""
    # The notifier's channels API, served under /api/notifications for admins; the internal token is
    # the notifier's PAID_NOTIFIER_API_TOKEN. Empty: those routes answer 503.
    notifier_api_url: str = "http://127.0.0.1:8105"
    notifier_api_token: str = ""
    github_api_url: str = "https://api.github.com"
    github_token: str = ""
    # The GitHub App whose installation tokens the gateway mints (the only holder of its key).
    # Empty: token requests get a `not_configured` reply.
    github_app_id: str = ""
    github_app_private_key: str = Field(default="", repr=False)
    # The App's webhook secret: the only one tried for a delivery whose
    # X-GitHub-Hook-Installation-Target-Type is `integration` and whose -ID is `github_app_id`.
    github_app_webhook_secret: str = Field(default="", repr=False)
    default_poll_interval_seconds: float = Field(default=60.0, gt=0)
    # How long a project's previous webhook secret stays valid after a new one is set.
    secret_rotation_hours: float = Field(default=72.0, gt=0)
    # How long a project's secrets and a collaborator's permission are reused before asking again.
    cache_seconds: float = Field(default=30.0, ge=0)
    # API, dashboard and live streams.
    trace_ui_url: str | None = None  # e.g. http://jaeger:16686/trace/{trace_id}
    stream_poll_seconds: float = 1.0  # live streams re-read this often without a local wake-up
    output_tail_lines: int = 200
    # Retention (gateway/retention.py): run output and events, and webhook delivery records, older than
    # this many days are deleted once a day by a Temporal Schedule; 0 keeps them forever.
    retention_days: int = Field(default=90, ge=0)
    retention_every_hours: float = Field(default=24.0, gt=0)
    retention_task_queue: str = "paid-gateway"
    # The executor's shared budgets per project (PAID_EXECUTOR_PROJECT_*; same defaults), shown against
    # spend on the budgets page; None is no limit in that unit.
    project_daily_max_tokens: int | None = Field(default=20_000_000, ge=1)
    project_daily_max_cost_usd: float | None = Field(default=20.0, gt=0)
    project_monthly_max_tokens: int | None = Field(default=200_000_000, ge=1)
    project_monthly_max_cost_usd: float | None = Field(default=200.0, gt=0)

    @field_validator("webhook_secrets", "secrets_keys", mode="before")
    @classmethod
    def _split_secrets(cls, value: object) -> object:
        """Accepts a JSON list (`["old","new"]`) or a comma-separated string."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _secrets_are_real(self) -> GatewaySettings:
        if self.environment == "production" and not self.webhook_secrets:
            raise ValueError("webhook_secrets must list at least one secret outside development")
        for secret in self.webhook_secrets:
            self.require_real_secret("webhook_secrets", secret)
        if self.environment == "production":
            self.require_real_secret("admin_token", self.admin_token)
            if not self.secrets_keys:
                raise ValueError("secrets_keys must list at least one Fernet key outside development")
        if self.evolution_api_token:
            self.require_real_secret("evolution_api_token", self.evolution_api_token)
        if self.notifier_api_token:
            self.require_real_secret("notifier_api_token", self.notifier_api_token)
        if self.admin_token:
            self.require_real_secret("admin_token", self.admin_token)
            if len(self.admin_token) < 24:
                raise ValueError("admin_token must be at least 24 characters (a random string)")
        return self
