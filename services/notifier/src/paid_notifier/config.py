from __future__ import annotations

from pydantic import Field, SecretStr, TypeAdapter, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from paid_contracts.notifications import ChannelSpec
from paid_runtime.settings import ServiceSettings

CHANNELS = TypeAdapter(list[ChannelSpec])


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAID_NOTIFIER_", extra="ignore")

    http_port: int = 8105
    # Temporal runs only the retention job (retention.py); empty: no retention, the delivery log is kept.
    temporal_target: str = ""
    temporal_ui_url: str = ""
    # Delivery records done with (delivered or failed) older than this many days are deleted once a
    # day by a Temporal Schedule; 0 keeps them forever. Pending ones are never deleted.
    retention_days: int = Field(default=90, ge=0)
    retention_every_hours: float = Field(default=24.0, gt=0)
    retention_task_queue: str = "paid-notifier"
    db_schema: str = "notifier"
    # The channels as JSON (a list of ChannelSpec), written to the notifier's table at start.
    channels: list[ChannelSpec] = []
    # Delivery: attempts per notification and channel, and the pause before each retry (doubling).
    max_attempts: int = Field(default=12, ge=1)
    retry_first_seconds: float = Field(default=5.0, gt=0)
    retry_max_seconds: float = Field(default=600.0, gt=0)
    retry_poll_seconds: float = Field(default=1.0, gt=0)
    send_timeout_seconds: float = Field(default=10.0, gt=0)
    # Email: the SMTP relay every email channel sends through.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_from: str = "paid@localhost"
    # The internal token the gateway presents on the channels API (api.py); empty: it refuses every call.
    api_token: str = ""

    @model_validator(mode="after")
    def _api_token_is_real(self) -> NotifierSettings:
        if self.api_token:
            self.require_real_secret("api_token", self.api_token)
        return self

    @field_validator("channels", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return CHANNELS.validate_json(value) if isinstance(value, str | bytes) else value
