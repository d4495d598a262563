"""Settings every service shares; each service subclasses with its own env prefix (PAID_<SERVICE>_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from paid_contracts.github_tokens import CredentialMode
from paid_runtime.redaction import register_secret

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "development"})
SECRET_WORDS = ("secret", "token", "password", "api_key", "encryption_key", "private_key")


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAID_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    nats_url: str = "nats://127.0.0.1:4222"
    """One URL, or a cluster's seeds comma-separated (`nats://n1:4222,nats://n2:4222,nats://n3:4222`)."""
    nats_replicas: int = Field(default=1, ge=1, le=5)
    """Copies of this service's durable consumers' state in a JetStream cluster; as the streams' (3)."""
    nats_user: str | None = None
    """This service's NATS user (`paid-<service>`); `paid_contracts.nats_access` declares its permissions."""
    nats_password: str = ""
    temporal_target: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    # A Temporal cluster of one's own over mTLS (client certificate and key, the server's CA and name),
    # or Temporal Cloud with an API key (which implies TLS); `paid_runtime.temporal_access` reads them.
    temporal_tls: bool = False
    temporal_tls_cert_path: Path | None = None
    temporal_tls_key_path: Path | None = None
    temporal_tls_ca_path: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: str = Field(default="", repr=False)
    temporal_ui_url: str = "http://127.0.0.1:8233"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    otlp_endpoint: str | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 0
    log_level: str = "INFO"

    @field_validator(
        "temporal_tls_cert_path",
        "temporal_tls_key_path",
        "temporal_tls_ca_path",
        "temporal_tls_server_name",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """Compose passes an unset variable as an empty string; it means "not configured", not "."."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _register_secrets(self) -> ServiceSettings:
        """Every setting named like a credential is redacted from logs from now on."""
        for name, value in self:
            if any(word in name for word in SECRET_WORDS):
                for item in value if isinstance(value, list | tuple | set) else [value]:
                    if isinstance(item, str):
                        register_secret(item)
        database_password = urlsplit(self.database_url).password  # each service's role has its own
        if database_password:
            register_secret(database_password)
        return self

    @model_validator(mode="after")
    def _nats_password_is_real(self) -> ServiceSettings:
        if self.nats_user is not None:
            self.require_real_secret("nats_password", self.nats_password)
        return self

    def require_real_secret(self, name: str, value: str) -> None:
        if self.environment == "production" and value.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(f"{name} must be set to a real secret outside development")


class GitHubSettings(ServiceSettings):
    """For services that call GitHub (or the emulator, which serves the same REST API)."""

    github_api_url: str = "https://api.github.com"
    github_token: str = ""
    github_credentials: CredentialMode = Field(
        default="minter",
        description="minter: each repository's credential from the gateway's token minter (its App "
        "installation or its own token; this token only for repositories with neither); global: this "
        "token for every repository",
    )

    @model_validator(mode="after")
    def _token_is_real(self) -> GitHubSettings:
        self.require_real_secret("github_token", self.github_token)
        return self
